"""`cltool dedup`: exact, near-duplicate (MinHash), semantic (SemDeDup) and low-information removal.

The columns that decide (`on`, with their ids and, for `semantic`, their embeddings) are read once
into memory; the methods run in a fixed order (exact, minhash, semantic, entropy), each over the
rows still alive; then the input is streamed a second time and every row is written either to the
output or, with its reason, the id of the row it duplicates and the similarity, to `_rejected`.
Which row is kept is deterministic: the first in input order (for `semantic`, the first in the
`--keep` order within its cluster). With `against`, only rows that duplicate a row of the
reference are removed, and the reference is never changed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cltool.dataset.pairs import (
    CORPUS_ID,
    CORPUS_TEXT,
    EMPTY_TEXT,
    POSITIVE,
    blank_mask,
    embedding_column,
    embedding_info,
    embedding_matrix,
    is_text_type,
    text_id,
)
from cltool.dataset.read import Dataset, open_dataset
from cltool.dataset.write import Output, StageTimer, readable_twice, with_rejection
from cltool.dedup.text import DEFAULT_NORMALIZATION, exact_keys, joined, low_information, normalize
from cltool.errors import InputError, UsageError
from cltool.progress import NullReporter, Reporter

METHODS = ("exact", "minhash", "semantic", "entropy")
REASONS = {"exact": "exact_duplicate", "minhash": "near_duplicate", "semantic": "semantic_duplicate",
           "entropy": "low_information"}
DUPLICATE_OF, SIMILARITY = "duplicate_of", "similarity"
INVALID_EMBEDDING = "invalid_embedding"


@dataclass
class Settings:
    methods: tuple[str, ...] = ("exact", "minhash")
    on: tuple[str, ...] | None = None
    threshold: float = 0.8
    ngram: int = 5
    char_ngrams: bool = False
    num_perm: int = 128
    seed: int = 1
    bands: int | None = None
    rows: int | None = None
    eps: tuple[float, ...] = (0.05,)
    clusters: int | None = None
    keep: str = "farthest"
    normalization: tuple[str, ...] = DEFAULT_NORMALIZATION
    min_entropy: float = 1.0
    min_compression_ratio: float = 0.2
    engine: str | None = None  # local or ray (default: CLTOOL_ENGINE, else local); exact and entropy run here
    ray_address: str | None = None

    def check(self) -> None:
        from cltool.dedup.semantic import KEEP_ORDERS
        from cltool.engine import resolve

        self.engine = resolve(self.engine)

        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods:
            raise UsageError(f"--method takes one or more of {', '.join(METHODS)}; got {', '.join(unknown) or 'none'}")
        if not 0.0 < self.threshold < 1.0:
            raise UsageError(f"--threshold must lie strictly between 0 and 1, not {self.threshold}")
        if any(not 0.0 < e < 1.0 for e in self.eps):
            raise UsageError(f"--eps values must lie strictly between 0 and 1, not {', '.join(map(str, self.eps))}")
        if self.clusters is not None and self.clusters < 1:
            raise UsageError(f"--clusters must be at least 1, not {self.clusters}")
        if self.ngram < 1 or self.num_perm < 1:
            raise UsageError("--ngram and --num-perm must be at least 1")
        if self.keep not in KEEP_ORDERS:
            raise UsageError(f"--keep must be one of {', '.join(KEEP_ORDERS)}, not {self.keep!r}")


@dataclass
class _Rows:
    """The deciding columns of one dataset, in memory: texts, given ids and embeddings."""

    dataset: Dataset
    texts: list[pa.Array]
    given_ids: list[pa.Array | None]  # per deciding column: the user's id column, if there is one
    embeddings: np.ndarray | None = None
    embedding_fields: list[pa.Field] = field(default_factory=list)
    bad_vectors: np.ndarray | None = None  # rows whose embedding is null or not finite (their vector is 0)

    def __len__(self) -> int:
        return len(self.texts[0])

    def id_of(self, row: int) -> str:
        """The row's id in the user's terms (derived from the text where there is none), for duplicate_of."""
        parts = [str(ids[row].as_py()) if ids is not None else text_id(text[row].as_py() or "")
                 for ids, text in zip(self.given_ids, self.texts)]
        return "|".join(parts)


def _default_on(schema: pa.Schema) -> tuple[str, ...]:
    for column in (POSITIVE, CORPUS_TEXT):
        if column in schema.names:
            return (column,)
    raise InputError(f"no column to deduplicate on: columns found: {', '.join(schema.names)}",
                     hint="choose it with --on, e.g. --on positive or --on anchor,positive")


def _id_column(schema: pa.Schema, column: str) -> str | None:
    for candidate in (f"{column}_id", CORPUS_ID if column == CORPUS_TEXT else None):
        if candidate and candidate in schema.names:
            return candidate
    return None


def _load(dataset: Dataset, on: Sequence[str], embeddings: bool) -> _Rows:
    schema = dataset.schema
    for column in on:
        if column not in schema.names:
            raise InputError(f"{dataset.source} has no column {column!r}; columns found: {', '.join(schema.names)}",
                             hint="choose the deciding columns with --on")
        if not is_text_type(schema.field(column).type):
            raise InputError(f"column {column!r} of {dataset.source} is {schema.field(column).type}, not text",
                             hint="deduplicate on text columns")
    vector_columns = [embedding_column(c) for c in on] if embeddings else []
    missing = [c for c in vector_columns if c not in schema.names]
    if missing:
        raise InputError(f"semantic dedup needs {', '.join(missing)}, which {dataset.source} does not have; "
                         f"columns found: {', '.join(schema.names)}",
                         hint=f"add it first: cltool embed {dataset.source} --columns {','.join(on)} -o EMBEDDED")
    dims = [schema.field(c).type.list_size for c in vector_columns]
    id_columns = [_id_column(schema, c) for c in on]
    wanted = list(dict.fromkeys([*on, *(c for c in id_columns if c)]))
    parts: dict[str, list[pa.Array]] = {c: [] for c in wanted}
    # Vectors go straight into one preallocated float32 matrix, batch by batch: no Arrow copy of
    # the whole column, no second full-size array. Several columns sit side by side, each scaled
    # by 1/sqrt(k), so that the cosine of two rows is the mean of the columns' cosines.
    matrix = np.empty((dataset.num_rows or 0, sum(dims)), dtype=np.float32) if vector_columns else None
    bad = np.zeros(len(matrix), dtype=bool) if matrix is not None else None
    row = 0
    for batch in dataset.batches(columns=wanted + vector_columns):
        for c in wanted:
            parts[c].append(batch.column(c))
        col = 0
        for c, dim in zip(vector_columns, dims):
            values, invalid = embedding_matrix(batch.column(c))
            norms = np.maximum(np.linalg.norm(values, axis=1, keepdims=True), 1e-12) * np.sqrt(len(dims))
            block = values / norms
            block[invalid] = 0.0
            matrix[row:row + batch.num_rows, col:col + dim] = block
            bad[row:row + batch.num_rows] |= invalid
            col += dim
        row += batch.num_rows
    columns = {c: pa.concat_arrays(v) if v else pa.array([], schema.field(c).type) for c, v in parts.items()}
    texts = [pc.cast(columns[c], pa.string()) for c in on]
    given_ids = [pc.cast(columns[i], pa.string()) if i else None for i in id_columns]
    return _Rows(dataset, texts, given_ids, matrix, [schema.field(c) for c in vector_columns], bad)


def _check_same_model(rows: _Rows, reference: _Rows) -> None:
    for mine, theirs in zip(rows.embedding_fields, reference.embedding_fields):
        if mine.type.list_size != theirs.type.list_size:  # float16 against float32 is fine: cosines compare
            raise InputError(f"{mine.name} has {mine.type.list_size} dimensions here but {theirs.type.list_size} in "
                             f"{theirs.name} of the reference", hint="embed both with the same model")
        a, b = embedding_info(mine), embedding_info(theirs)
        if a and b and a.get("model_fingerprint") != b.get("model_fingerprint"):
            raise InputError(f"{mine.name} comes from {a.get('model_id')} here but from {b.get('model_id')} in the "
                             "reference (different weights): their cosines are not comparable",
                             hint="embed both with the same --model")


def _any_blank(texts: Sequence[pa.Array]) -> np.ndarray:
    return np.logical_or.reduce([blank_mask(t) for t in texts])


class _Decisions:
    """Per input row: alive, or the reason it went, the row it duplicates, the similarity."""

    def __init__(self, n: int):
        self.alive = np.ones(n, dtype=bool)
        self.reason = np.full(n, "", dtype=object)
        self.detail: dict[int, str] = {}
        self.duplicate_row = np.full(n, -1, dtype=np.int64)
        self.in_reference = np.zeros(n, dtype=bool)
        self.similarity = np.full(n, np.nan, dtype=np.float32)
        self.counts: dict[str, int] = {}

    def remove(self, rows: np.ndarray, reason: str, duplicate_of=None, similarity=None, in_reference=False,
               details: Sequence[str] | None = None) -> None:
        self.alive[rows] = False
        self.reason[rows] = reason
        if duplicate_of is not None:
            self.duplicate_row[rows] = duplicate_of
            self.in_reference[rows] = in_reference
        if similarity is not None:
            self.similarity[rows] = similarity
        if details is not None:
            self.detail.update(zip(rows.tolist(), details))
        self.counts[reason] = self.counts.get(reason, 0) + len(rows)


def _normalized(rows: _Rows, settings: Settings, tokenized: bool = False) -> pa.Array:
    """The texts as a method compares them. For word shingles whitespace needs no normalising: the
    tokenizer splits on it anyway (and NFKC has already turned the exotic kinds into spaces)."""
    steps = [s for s in settings.normalization if not (tokenized and s == "whitespace")]
    return joined([normalize(t, steps) for t in rows.texts])


def _run_exact(rows: _Rows, alive: np.ndarray, reference: _Rows | None, settings: Settings, decisions: _Decisions):
    live = np.nonzero(alive)[0]
    keys = exact_keys(_normalized(rows, settings).take(pa.array(live)))
    seen: dict[bytes, int] = {}
    if reference is not None:
        usable = np.nonzero(~_any_blank(reference.texts))[0]  # a blank text is never anyone's duplicate
        for j, key in zip(usable, exact_keys(_normalized(reference, settings).take(pa.array(usable)))):
            seen.setdefault(key, int(j))
    removed, duplicate_of = [], []
    for position, key in enumerate(keys):
        first = seen.get(key)
        if first is not None:
            removed.append(live[position])
            duplicate_of.append(first)
        elif reference is None:
            seen[key] = live[position]
    removed = np.asarray(removed, dtype=np.int64)
    decisions.remove(removed, REASONS["exact"], np.asarray(duplicate_of, dtype=np.int64),
                     np.ones(len(removed), dtype=np.float32), in_reference=reference is not None)


def _run_minhash(rows: _Rows, alive: np.ndarray, reference: _Rows | None, settings: Settings,
                 decisions: _Decisions) -> dict[str, Any]:
    from cltool.dedup.near import lsh_params, near_duplicates

    if settings.engine == "ray":
        from functools import partial

        from cltool.dedup.ray_dedup import ray_near_duplicates

        near_duplicates = partial(ray_near_duplicates, address=settings.ray_address)

    params = lsh_params(settings.threshold, settings.num_perm, settings.bands, settings.rows)
    live = np.nonzero(alive)[0]
    words = not settings.char_ngrams
    texts = _normalized(rows, settings, tokenized=words).take(pa.array(live))
    offset = 0
    if reference is not None:
        ref_texts = _normalized(reference, settings, tokenized=words)
        offset = len(ref_texts)
        texts = pa.concat_arrays([ref_texts.cast(pa.large_string()), texts.cast(pa.large_string())])
    result = near_duplicates(texts, threshold=settings.threshold, ngram=settings.ngram,
                             char_ngrams=settings.char_ngrams, num_perm=settings.num_perm, seed=settings.seed,
                             params=params, reference_rows=offset)
    removed = live[result.removed - offset]
    duplicate_of = result.duplicate_of if reference is not None else live[result.duplicate_of]
    decisions.remove(removed, REASONS["minhash"], duplicate_of, result.jaccard, in_reference=reference is not None)
    return {**params.describe(), "candidate_pairs": result.candidates, "verified_pairs": result.verified}


def _run_semantic(rows: _Rows, alive: np.ndarray, reference: _Rows | None, settings: Settings,
                  decisions: _Decisions | None, eps: float, assignment=None) -> tuple[int, Any, dict[str, Any]]:
    from cltool.dedup.semantic import against_reference, cluster, default_clusters, semantic_duplicates

    live = np.nonzero(alive)[0]
    vectors = rows.embeddings if len(live) == len(rows) else rows.embeddings[live]
    if reference is not None:
        found, ref_rows, cosine = against_reference(vectors, reference.embeddings, eps)
        if decisions is not None:
            decisions.remove(live[found], REASONS["semantic"], ref_rows, cosine, in_reference=True)
        return len(found), None, {}
    clusters = settings.clusters or default_clusters(len(live))
    if assignment is None and len(live):
        assignment = cluster(vectors, clusters, settings.seed)  # rows are unit length already (see _load)
    lengths = None
    if settings.keep == "longest":
        lengths = np.asarray(pc.utf8_length(joined(rows.texts).take(pa.array(live))).to_numpy(zero_copy_only=False))
    if not len(live):
        return 0, assignment, {"clusters": 0}
    result = semantic_duplicates(vectors, eps=eps, clusters=clusters, keep=settings.keep, seed=settings.seed,
                                 lengths=lengths, assignment=assignment, engine=settings.engine,
                                 ray_address=settings.ray_address)
    if decisions is not None:
        decisions.remove(live[result.removed], REASONS["semantic"], live[result.duplicate_of], result.cosine)
    return len(result.removed), assignment, {"clusters": result.clusters}


def _run_entropy(rows: _Rows, alive: np.ndarray, settings: Settings, decisions: _Decisions) -> None:
    live = np.nonzero(alive)[0]
    why: list[str | None] = [None] * len(live)
    for text in rows.texts:
        verdicts = low_information(text.take(pa.array(live)).to_pylist(), settings.min_entropy,
                                   settings.min_compression_ratio)
        why = [w or v for w, v in zip(why, verdicts)]
    hit = [i for i, w in enumerate(why) if w]
    decisions.remove(live[np.asarray(hit, dtype=np.int64)], REASONS["entropy"], details=[why[i] for i in hit])


def dedup(
    input: str,
    output: str | None,
    settings: Settings | None = None,
    *,
    against: str | None = None,
    dry_run: bool = False,
    rejected_output: str | None = None,
    argv: Sequence[str] | None = None,
    reporter: Reporter | None = None,
    stdin: IO[bytes] | None = None,
    stdout: IO[bytes] | None = None,
) -> dict[str, Any]:
    """Remove duplicates from `input` (or, with `against`, the rows that duplicate `against`).

    Returns the manifest; with `dry_run`, a report of what each method would remove, writing nothing.
    """
    started = time.perf_counter()
    reporter = reporter or NullReporter()
    settings = settings or Settings()
    settings.check()
    if len(settings.eps) > 1 and not dry_run:
        raise UsageError("several --eps values are for --dry-run, which compares them", hint="give one --eps")
    if output is None and not dry_run:
        raise UsageError("an output is needed (-o DIR or -o -), unless --dry-run")
    with readable_twice(input, stdin) as input:  # dedup reads its input twice
        return _dedup(input, output, settings, against, dry_run, rejected_output, argv, reporter, stdout, started)


def _reference_columns(reference: Dataset, on: Sequence[str]) -> tuple[str, ...]:
    """The reference's deciding columns: the same as the input's, or `text` when the reference is a
    corpus table (decontaminating pairs against a corpus of evaluation documents)."""
    if all(c in reference.schema.names for c in on):
        return tuple(on)
    if len(on) == 1 and CORPUS_TEXT in reference.schema.names:
        return (CORPUS_TEXT,)
    raise InputError(f"the reference {reference.source} has no column {', '.join(on)} (and is not a corpus with a "
                     f"text column); columns found: {', '.join(reference.schema.names)}",
                     hint="give a reference with the same columns as --on, or a corpus table (id, text)")


def _dedup(input: str, output: str | None, settings: Settings, against: str | None, dry_run: bool,
           rejected_output: str | None, argv, reporter: Reporter, stdout, started: float) -> dict[str, Any]:
    dataset = open_dataset(input)
    on = settings.on or _default_on(dataset.schema)
    semantic = "semantic" in settings.methods
    reference = None
    with_stage = StageTimer()
    with with_stage("load"):
        rows = _load(dataset, on, semantic)
        if against is not None:
            reference_dataset = open_dataset(against)
            reference = _load(reference_dataset, _reference_columns(reference_dataset, on), semantic)
            if semantic:
                _check_same_model(rows, reference)
    if len(rows) == 0:
        raise InputError(f"{dataset.source} is empty: it has no rows", hint="check that the right input was given")

    decisions = _Decisions(len(rows))
    masks = [blank_mask(t) for t in rows.texts]
    blank = np.nonzero(np.logical_or.reduce(masks))[0]
    decisions.remove(blank, EMPTY_TEXT, details=[
        f"{', '.join(c for c, m in zip(on, masks) if m[i])} is null or blank: never a duplicate of another blank"
        for i in blank])
    if rows.bad_vectors is not None:
        invalid = np.nonzero(rows.bad_vectors & decisions.alive)[0]
        decisions.remove(invalid, INVALID_EMBEDDING, details=["embedding is null, not finite or zero"] * len(invalid))
    summary: dict[str, Any] = {"on": list(on), "against": against}
    for method in (m for m in METHODS if m in settings.methods):
        alive = decisions.alive.copy()
        with with_stage(method):
            reporter.info(f"dedup: {method} over {int(alive.sum()):,} rows")
            if method == "exact":
                _run_exact(rows, alive, reference, settings, decisions)
            elif method == "minhash":
                summary["minhash"] = _run_minhash(rows, alive, reference, settings, decisions)
                lsh = summary["minhash"]
                reporter.info(f"  LSH {lsh['bands']} bands x {lsh['rows']} rows; chance to catch a pair at Jaccard "
                              + ", ".join(f"{s}: {p:.3f}" for s, p in lsh["catch_probability"].items()))
            elif method == "semantic":
                found, assignment, info = _run_semantic(rows, alive, reference, settings, decisions, settings.eps[0])
                summary["semantic"] = info
                if dry_run and len(settings.eps) > 1:
                    summary["semantic"]["removed_fraction_by_eps"] = {
                        str(e): round(_run_semantic(rows, alive, reference, settings, None, e, assignment)[0]
                                      / len(rows), 6) for e in settings.eps}
            else:
                _run_entropy(rows, alive, settings, decisions)
    summary["removed"] = {reason: decisions.counts.get(reason, 0)
                          for reason in (EMPTY_TEXT, INVALID_EMBEDDING, *REASONS.values()) if reason in decisions.counts}
    params = {"methods": list(settings.methods), **{k: v for k, v in vars(settings).items() if k != "methods"},
              "against": against}
    params["on"], params["eps"], params["normalization"] = list(on), list(settings.eps), list(settings.normalization)
    if dry_run:
        return {"dry_run": True, "rows": len(rows), "params": params, "summary": summary, "stages": with_stage.times,
                "removed_fraction": {r: round(n / len(rows), 6) for r, n in summary["removed"].items()}}

    with Output(output, command="dedup", params=params, inputs=[dataset] + ([reference.dataset] if reference else []),
                argv=argv, rejected_target=rejected_output, stdout=stdout, started=started) as out:
        out.stages.update(with_stage.times)
        with out.stage("write"), reporter.task("dedup write", total=len(rows)) as task:
            offset = 0
            for batch in dataset.batches():
                table = pa.Table.from_batches([batch])
                index = np.arange(offset, offset + table.num_rows)
                keep = decisions.alive[index]
                out.count_input(table.num_rows)
                out.write(table.filter(pa.array(keep)))
                gone = index[~keep]
                if len(gone):
                    out.reject(_rejected_rows(table.filter(pa.array(~keep)), gone, decisions, rows, reference))
                offset += table.num_rows
                task.advance(table.num_rows)
        out.summary.update(summary)
    return out.manifest


def _rejected_rows(table: pa.Table, gone: np.ndarray, decisions: _Decisions, rows: _Rows,
                   reference: _Rows | None) -> pa.Table:
    duplicate_ids, details = [], []
    for i in gone.tolist():
        reason, target = decisions.reason[i], decisions.duplicate_row[i]
        if target >= 0:
            source = reference if decisions.in_reference[i] else rows
            target_id = source.id_of(int(target))
            duplicate_ids.append(target_id)
            where = " in the reference" if decisions.in_reference[i] else ""
            measure = {"exact_duplicate": "same normalised text as", "near_duplicate": "Jaccard",
                       "semantic_duplicate": "cosine"}[reason]
            if reason == "exact_duplicate":
                details.append(f"{measure} {target_id}{where}")
            else:
                details.append(f"{measure} {decisions.similarity[i]:.4f} with {target_id}{where}")
        else:
            duplicate_ids.append(None)
            details.append(decisions.detail.get(i, ""))
    similarity = decisions.similarity[gone]
    return with_rejection(table, reason=decisions.reason[gone].tolist(), detail=details,
                          **{DUPLICATE_OF: duplicate_ids,
                             SIMILARITY: pa.array(similarity, pa.float32(), mask=np.isnan(similarity))})

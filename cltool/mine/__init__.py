"""`cltool mine`: positive-aware hard negatives for every anchor.

1. Load: the pairs' anchor and positive embeddings are read once. Rows of the same anchor (the
   same text, ignoring case, spacing and the punctuation around it: `match_keys`) form one anchor,
   whose positives are all of its rows' positives. Candidates
   are the unique positives (by id) and the rows of any `--corpus` tables, deduplicated by id.
2. Search: each anchor's top `range_max` candidates, exact (blockwise) or through FAISS.
3. Select (`cltool.kernels.mine`): inside the rank window, never a positive (by id, by normalised
   text, or a near-duplicate of one), never the anchor, never the same text twice; then the score
   rules against the anchor's lowest-scoring positive; then sampling.
4. Write: the input is streamed again and every row gets its anchor's negatives, their ids,
   scores and ranks, and the score of its own positive.

Ranks are positions in the anchor's search results (0 = the most similar candidate), counted
before anything is excluded, so `--range-min 10` skips the 10 most similar candidates, positives
among them, as FlagEmbedding's `range_for_sampling` does.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cltool.dataset.pairs import (
    ANCHOR,
    ANCHOR_ID,
    CORPUS_ID,
    CORPUS_TEXT,
    EMPTY_TEXT,
    NEGATIVE_IDS,
    NEGATIVE_RANKS,
    NEGATIVE_SCORES,
    NEGATIVES,
    POSITIVE,
    POSITIVE_ID,
    POSITIVE_SCORE,
    blank_mask,
    embedding_column,
    embedding_info,
    embedding_matrix,
    ids_and_match_keys,
    is_text_type,
)
from cltool.dataset.read import Dataset, open_dataset
from cltool.dataset.write import Output, StageTimer, readable_twice, with_rejection
from cltool.errors import InputError, UsageError
from cltool.progress import NullReporter, Reporter

MINED_COLUMNS = (NEGATIVES, NEGATIVE_IDS, NEGATIVE_SCORES, NEGATIVE_RANKS, POSITIVE_SCORE)
INVALID_EMBEDDING, TOO_FEW_NEGATIVES = "invalid_embedding", "too_few_negatives"
CANDIDATE_TEXTS = "_corpus"  # inside a --save-candidates directory: id and text of every candidate
ANCHOR_KEY, MATCH_KEY, DEPTH = "anchor_key", "match_key", "depth"
CANDIDATE_IDS, CANDIDATE_SCORES, CANDIDATE_NEAR = "candidate_ids", "candidate_scores", "candidate_positive_similarity"
SAMPLING = ("top", "random", "simans")
_LOAD_ROWS = 16_384  # rows decoded at once while loading: their vectors are copied, so keep the copies small


@dataclass
class Settings:
    num_negatives: int = 3
    range_min: int = 0
    range_max: int | None = None  # default: range_min + 10 x num_negatives + 2 x most positives of an anchor
    max_score: float | None = None
    min_score: float | None = None
    absolute_margin: float | None = None
    # off by default, measured: on bench/outcome.py's two real sets a 0.05 margin trained worse models
    # (sentence-transformers' own miner: -0.013 and -0.005 nDCG@10 against no margin) by removing hard
    # true negatives; the near-duplicate rule below catches the false negatives it was meant for
    relative_margin: float | None = None
    # a candidate this similar to one of the anchor's positives says the same thing: a false negative.
    # On the first 60 candidates of bench/outcome.py's sets (the bundled MiniLM's cosine) 0.5 removed
    # 91% (Debian) and 73% (man pages) of the known false negatives, 0.6 82% and 49%, 0.95 6-30%;
    # with the margin off, 0.5 trained the better model there (README, Training outcome)
    near_duplicate: float | None = 0.5
    sampling: str = "top"
    simans_a: float = 50.0
    simans_b: float = 0.0
    seed: int = 1
    index: str = "auto"
    nprobe: int | None = None
    nlist: int | None = None
    min_negatives: int = 0
    # an anchor short of negatives after the rules is searched again, its window 4x as deep each
    # round, up to this rank (only when --range-max is not given: a window the user sets is kept)
    max_window: int = 1024
    engine: str | None = None  # local or ray (default: CLTOOL_ENGINE, else local)
    ray_address: str | None = None

    def check(self) -> None:
        from cltool.engine import resolve

        self.engine = resolve(self.engine)
        if self.engine == "ray" and self.index == "hnsw":  # before any loading, not after
            raise UsageError("--index hnsw runs on the local engine only",
                             hint="use --index flat or ivf with --engine ray")
        if self.num_negatives < 1:
            raise UsageError(f"--num-negatives must be at least 1, not {self.num_negatives}")
        if self.range_min < 0:
            raise UsageError(f"--range-min must be 0 or more, not {self.range_min}")
        if self.range_max is not None and self.range_max - self.range_min < self.num_negatives:
            raise UsageError(f"the window --range-min {self.range_min} .. --range-max {self.range_max} holds fewer "
                             f"than --num-negatives {self.num_negatives} candidates",
                             hint="widen the window or ask for fewer negatives")
        if self.sampling not in SAMPLING:
            raise UsageError(f"--sampling must be one of {', '.join(SAMPLING)}, not {self.sampling!r}")
        for name in ("absolute_margin", "relative_margin"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise UsageError(f"--{name.replace('_', '-')} must be 0 or more, not {value}")
        if self.near_duplicate is not None and not -1.0 <= self.near_duplicate <= 1.0:
            raise UsageError(f"--near-duplicate is a cosine between -1 and 1, not {self.near_duplicate}")
        if not 0 <= self.min_negatives <= self.num_negatives:
            raise UsageError(f"--min-negatives must lie between 0 and --num-negatives ({self.num_negatives}), "
                             f"not {self.min_negatives}")
        if self.simans_a < 0:
            raise UsageError(f"--simans-a must be 0 or more, not {self.simans_a}")
        if self.max_window < 0:
            raise UsageError(f"--max-window must be 0 or more, not {self.max_window}")

    @property
    def deepens(self) -> bool:
        return self.range_max is None and self.max_window > 0

    def windows(self, positives: np.ndarray) -> np.ndarray:
        """Each anchor's range_max: the one given, or sentence-transformers' depth when a rule is set,
        per anchor (its positives take room among the ranks, so an anchor with many looks deeper)."""
        if self.range_max is not None:
            return np.full(len(positives), self.range_max, dtype=np.int64)
        return self.range_min + 10 * self.num_negatives + 2 * np.maximum(positives, 1).astype(np.int64)


@dataclass
class _Pairs:
    """The input rows as mining sees them: per row its anchor, its positive and why it is unusable."""

    dataset: Dataset
    row_anchor: np.ndarray  # per row: anchor index, -1 when the row is rejected
    row_positive: np.ndarray  # per row: candidate index of its positive
    row_positive_key: np.ndarray  # per row: normalised-text key of its positive
    row_score: np.ndarray  # per row: cosine of anchor and positive
    row_reason: np.ndarray  # per row: "" or why it is rejected
    queries: np.ndarray  # (anchors, dim) unit rows
    anchor_keys: np.ndarray
    anchor_texts: list[str]
    anchor_ids: list[str]
    fields: list[pa.Field]


@dataclass
class _Candidates:
    ids: list[str]
    texts: list[str]
    keys: list[int]
    vectors: np.ndarray | None  # (capacity, dim); rows [:len(ids)] are used
    index: dict[str, int] = field(default_factory=dict)
    from_positives: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, cid: str, text: str, key: int, vector: np.ndarray | None) -> int:
        position = self.index.get(cid)
        if position is None:
            position = self.index[cid] = len(self.ids)
            self.ids.append(cid)
            self.texts.append(text)
            self.keys.append(key)
            if vector is not None:
                self.vectors[position] = vector
        return position


def _unit(values: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, in place (zero rows stay zero)."""
    values /= np.maximum(np.linalg.norm(values, axis=1, keepdims=True), 1e-12)
    return values


def _require_columns(dataset: Dataset, text_columns: Sequence[str], hint: str) -> None:
    schema = dataset.schema
    for column in text_columns:
        if column not in schema.names:
            raise InputError(f"{dataset.source} has no column {column!r}; columns found: {', '.join(schema.names)}",
                             hint=hint)
        if not is_text_type(schema.field(column).type):
            raise InputError(f"column {column!r} of {dataset.source} is {schema.field(column).type}, not text",
                             hint=hint)
        vectors = embedding_column(column)
        if vectors not in schema.names:
            raise InputError(f"mining needs {vectors}, which {dataset.source} does not have; columns found: "
                             f"{', '.join(schema.names)}",
                             hint=f"embed it first: cltool embed {dataset.source} --columns "
                                  f"{','.join(text_columns)} -o EMBEDDED")
        kind = schema.field(vectors).type
        if not pa.types.is_fixed_size_list(kind):
            raise InputError(f"{vectors} of {dataset.source} is {kind}, not a fixed-size list of floats",
                             hint="embed it with cltool embed")


def check_same_model(fields: Sequence[tuple[str, pa.Field]]) -> None:
    """Refuse embeddings that cannot be compared: other dimensions, or other weights (when the
    columns say which model made them)."""
    (first_source, first), *rest = fields
    first_info = embedding_info(first)
    for source, other in rest:
        if other.type.list_size != first.type.list_size:
            raise InputError(f"{other.name} of {source} has {other.type.list_size} dimensions but {first.name} of "
                             f"{first_source} has {first.type.list_size}: they come from different models",
                             hint="embed every input with the same --model")
        info = embedding_info(other)
        if first_info and info and first_info.get("model_fingerprint") != info.get("model_fingerprint"):
            raise InputError(f"{other.name} of {source} comes from {info.get('model_id')} but {first.name} of "
                             f"{first_source} from {first_info.get('model_id')} (different weights): their scores "
                             "are not comparable", hint="embed every input with the same --model")


def _load_pairs(dataset: Dataset, candidates_capacity: int) -> tuple[_Pairs, _Candidates]:
    hint = "mine reads anchor, positive and their embeddings: cltool ingest, then cltool embed"
    _require_columns(dataset, (ANCHOR, POSITIVE), hint)
    schema = dataset.schema
    fields = [schema.field(embedding_column(ANCHOR)), schema.field(embedding_column(POSITIVE))]
    check_same_model([(dataset.source, f) for f in fields])
    dim = fields[0].type.list_size
    n = dataset.num_rows or 0
    ids = {c: c if c in schema.names else None for c in (ANCHOR_ID, POSITIVE_ID)}
    wanted = [ANCHOR, POSITIVE, *(c for c in ids.values() if c), *(f.name for f in fields)]

    # np.empty takes no memory until written: only the unique anchors and positives fill these.
    queries = np.empty((n, dim), dtype=np.float32)
    candidates = _Candidates([], [], [], np.empty((candidates_capacity, dim), dtype=np.float32))
    anchor_index: dict[int, int] = {}
    anchor_keys, anchor_texts, anchor_ids = [], [], []
    row_anchor = np.full(n, -1, dtype=np.int64)
    row_positive = np.full(n, -1, dtype=np.int64)
    row_positive_key = np.zeros(n, dtype=np.uint64)
    row_score = np.full(n, np.nan, dtype=np.float32)
    row_reason = np.full(n, "", dtype=object)
    row = 0
    for batch in dataset.batches(columns=wanted, batch_rows=_LOAD_ROWS):
        size = batch.num_rows
        anchors, positives = batch.column(ANCHOR), batch.column(POSITIVE)
        a_vectors, a_bad = embedding_matrix(batch.column(fields[0].name))
        p_vectors, p_bad = embedding_matrix(batch.column(fields[1].name))
        blank = blank_mask(anchors) | blank_mask(positives)
        bad = (a_bad | p_bad) & ~blank
        row_reason[row:row + size][blank] = EMPTY_TEXT
        row_reason[row:row + size][bad] = INVALID_EMBEDDING
        a_vectors, p_vectors = _unit(a_vectors), _unit(p_vectors)
        a_texts, p_texts = anchors.to_pylist(), positives.to_pylist()
        (a_ids, a_keys), (p_ids, p_keys) = ids_and_match_keys(a_texts), ids_and_match_keys(p_texts)
        if ids[ANCHOR_ID]:  # the user's ids where given (a null one falls back to the derived id)
            a_ids = [g if g is not None else d for g, d in
                     zip(pc.cast(batch.column(ids[ANCHOR_ID]), pa.string()).to_pylist(), a_ids)]
        if ids[POSITIVE_ID]:
            p_ids = [g if g is not None else d for g, d in
                     zip(pc.cast(batch.column(ids[POSITIVE_ID]), pa.string()).to_pylist(), p_ids)]
        usable = np.nonzero(~(blank | bad))[0]
        for i in usable.tolist():
            key = a_keys[i]
            a = anchor_index.get(key)
            if a is None:
                a = anchor_index[key] = len(anchor_keys)
                queries[a] = a_vectors[i]
                anchor_keys.append(key)
                anchor_texts.append(a_texts[i])
                anchor_ids.append(a_ids[i])
            row_anchor[row + i] = a
            row_positive[row + i] = candidates.add(p_ids[i], p_texts[i], p_keys[i], p_vectors[i])
            row_positive_key[row + i] = p_keys[i]
        # scored with the anchor's searched vector: rows merged into one anchor (same text but for
        # case or punctuation) must measure their positives and its candidates alike
        searched = queries[row_anchor[row + usable]]
        row_score[row + usable] = np.einsum("ij,ij->i", searched, p_vectors[usable])
        row += size
    candidates.from_positives = len(candidates)
    pairs = _Pairs(dataset, row_anchor, row_positive, row_positive_key, row_score, row_reason,
                   queries[:len(anchor_keys)], np.array(anchor_keys, dtype=np.uint64), anchor_texts, anchor_ids,
                   fields)
    return pairs, candidates


def _corpus_columns(dataset: Dataset) -> tuple[str, str]:
    from cltool.dataset.pairs import CORPUS_ALIASES

    names = dataset.schema.names
    text = next((c for c in CORPUS_ALIASES[CORPUS_TEXT] if c in names and embedding_column(c) in names), None)
    if text is None:
        raise InputError(f"the corpus {dataset.source} has no text column with an embedding; columns found: "
                         f"{', '.join(names)}",
                         hint=f"cltool ingest CORPUS --table corpus -o C && cltool embed C --columns text -o "
                              f"{dataset.source}")
    _require_columns(dataset, (text,), "a corpus table has id, text and text_embedding")
    ident = next((c for c in CORPUS_ALIASES[CORPUS_ID] if c in names), None)
    return text, ident


def _add_corpus(dataset: Dataset, candidates: _Candidates) -> None:
    text_column, id_column = _corpus_columns(dataset)
    vectors = embedding_column(text_column)
    for batch in dataset.batches(columns=[text_column, vectors, *([id_column] if id_column else [])],
                                 batch_rows=_LOAD_ROWS):
        texts = batch.column(text_column)
        values, bad = embedding_matrix(batch.column(vectors))
        blank = blank_mask(texts)
        values = _unit(values)
        text_list = texts.to_pylist()
        derived, keys = ids_and_match_keys(text_list)
        given = derived
        if id_column:
            given = [g if g is not None else d for g, d in
                     zip(pc.cast(batch.column(id_column), pa.string()).to_pylist(), derived)]
        for reason, mask in ((EMPTY_TEXT, blank), (INVALID_EMBEDDING, bad & ~blank)):
            if mask.any():
                candidates.skipped[reason] = candidates.skipped.get(reason, 0) + int(mask.sum())
        before = len(candidates)
        usable = np.nonzero(~(blank | bad))[0].tolist()
        for i in usable:
            candidates.add(given[i], text_list[i], keys[i], values[i])
        repeated = len(usable) - (len(candidates) - before)
        if repeated:
            candidates.skipped["duplicate_id"] = candidates.skipped.get("duplicate_id", 0) + repeated


def _positives_by_anchor(pairs: _Pairs) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per anchor: offsets into (positive candidate indices, their text keys), and the lowest positive score."""
    valid = pairs.row_anchor >= 0
    anchor = pairs.row_anchor[valid]
    order = np.argsort(anchor, kind="stable")
    offsets = np.zeros(len(pairs.anchor_keys) + 1, dtype=np.int64)
    np.cumsum(np.bincount(anchor, minlength=len(pairs.anchor_keys)), out=offsets[1:])
    lowest = np.full(len(pairs.anchor_keys), np.inf, dtype=np.float32)
    np.minimum.at(lowest, anchor, pairs.row_score[valid])
    return (offsets, pairs.row_positive[valid][order].astype(np.int64),
            pairs.row_positive_key[valid][order].astype(np.uint64), lowest)


def _off(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def distribution(values: np.ndarray) -> dict[str, float | int] | None:
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    q = np.percentile(values, [0, 5, 25, 50, 75, 95, 100])
    return {"count": len(values), "mean": round(float(values.mean()), 4),
            **{name: round(float(v), 4) for name, v in zip(("min", "p5", "p25", "median", "p75", "p95", "max"), q)}}


def mine(
    input: str,
    output: str,
    settings: Settings | None = None,
    *,
    corpus: Sequence[str] = (),
    save_candidates: str | None = None,
    from_candidates: str | None = None,
    rejected_output: str | None = None,
    argv: Sequence[str] | None = None,
    reporter: Reporter | None = None,
    stdin: IO[bytes] | None = None,
    stdout: IO[bytes] | None = None,
) -> dict[str, Any]:
    """Mine hard negatives for the pairs in `input`; returns the output's manifest."""
    started = time.perf_counter()
    reporter = reporter or NullReporter()
    settings = settings or Settings()
    settings.check()
    if from_candidates and (corpus or save_candidates):
        raise UsageError("--from-candidates reuses a search: --corpus and --save-candidates belong to the search",
                         hint="give --corpus and --save-candidates to the run that searches")
    with readable_twice(input, stdin) as input:  # read twice: once to mine, once to write
        return _mine(input, output, settings, corpus, save_candidates, from_candidates, rejected_output, argv,
                     reporter, stdout, started)


def _mine(input, output, settings: Settings, corpus, save_candidates, from_candidates, rejected_output, argv,
          reporter: Reporter, stdout, started) -> dict[str, Any]:
    from cltool.kernels.mine import RULES

    dataset = open_dataset(input)
    corpora = [open_dataset(c) for c in corpus]
    stages = StageTimer()
    with stages("load"):
        for c in corpora:
            text_column, _ = _corpus_columns(c)
            check_same_model([(dataset.source, dataset.schema.field(embedding_column(ANCHOR))),
                              (c.source, c.schema.field(embedding_column(text_column)))])
        capacity = (dataset.num_rows or 0) + sum(c.num_rows or 0 for c in corpora)
        pairs, candidates = _load_pairs(dataset, capacity)
        for c in corpora:
            _add_corpus(c, candidates)
    if dataset.num_rows == 0:
        raise InputError(f"{dataset.source} is empty: it has no rows", hint="check that the right input was given")
    offsets, positive_ids, positive_keys, lowest = _positives_by_anchor(pairs)
    range_min, range_maxes = settings.range_min, settings.windows(np.diff(offsets))
    anchors = len(pairs.anchor_keys)
    summary: dict[str, Any] = {"anchors": anchors}

    if from_candidates:
        with stages("load candidates"):
            candidates, parts = _load_saved_candidates(from_candidates, pairs, candidates, range_maxes)
        offsets, positive_ids, positive_keys, lowest = _positives_by_anchor(pairs)  # re-indexed positives
        summary["from_candidates"] = from_candidates
    else:
        with stages("search"):
            parts, summary["search"] = _search(pairs, candidates, range_maxes, settings, reporter)
        with stages("near-duplicates"):
            for part in parts:
                _near_positives(part, candidates, offsets, positive_ids, positive_keys, settings, save_candidates)
    summary["candidates"] = {"total": len(candidates), "positives": candidates.from_positives,
                             "corpus": len(candidates) - candidates.from_positives, **(
                                 {"corpus_skipped": candidates.skipped} if candidates.skipped else {})}

    with stages("select"):
        chosen = _select(parts, candidates, pairs, offsets, positive_ids, positive_keys, lowest, range_maxes,
                         settings)
    if settings.deepens:
        with stages("deepen"):
            summary["deepened"] = _deepen(parts, chosen, candidates, pairs, offsets, positive_ids, positive_keys,
                                          lowest, range_maxes, settings, save_candidates)
    pairs.queries = candidates.vectors = None  # the vectors are done with: let the memory go
    summary["window"] = {"range_min": range_min, "range_max": distribution(range_maxes.astype(np.float64))}
    found = (chosen.ids >= 0).sum(axis=1)
    summary.update({
        "removed_by_rule": {rule: int(count) for rule, count in zip(RULES, chosen.removed.sum(axis=0)) if count},
        "eligible_per_anchor": distribution(chosen.eligible.astype(np.float64)),
        "anchors_full": int((found == settings.num_negatives).sum()),
        "anchors_short": int(((found > 0) & (found < settings.num_negatives)).sum()),
        "anchors_without_negatives": int((found == 0).sum()),
        "positive_score": distribution(pairs.row_score[pairs.row_anchor >= 0]),
        "negative_score": distribution(chosen.scores[chosen.ids >= 0]),
    })

    params = {**vars(settings), "corpus": list(corpus), "from_candidates": from_candidates,
              "save_candidates": save_candidates, "embedding": embedding_info(pairs.fields[0])}
    if save_candidates:
        with stages("save candidates"):
            _save_candidates(save_candidates, pairs, candidates, parts, params, dataset, corpora)
    replaced = [c for c in MINED_COLUMNS if c in dataset.schema.names]
    if replaced:
        reporter.warn(f"the input's {', '.join(replaced)} are replaced by the mined ones")

    with Output(output, command="mine", params=params, inputs=[dataset, *corpora], argv=argv,
                rejected_target=rejected_output, stdout=stdout, started=started) as out:
        out.stages.update(stages.times)
        with out.stage("write"), reporter.task("mine write", total=dataset.num_rows) as task:
            _write(out, dataset, pairs, candidates, chosen, found, settings, replaced, task)
        out.summary.update(summary)
    return out.manifest


@dataclass
class _Ranked:
    """The ranked candidates of some anchors: row i of ids / scores / near is anchor anchors[i]."""

    anchors: np.ndarray  # anchor indices
    ids: np.ndarray  # (rows, depth) candidate indices, best first, -1 for none
    scores: np.ndarray  # (rows, depth) float32
    depth: int  # how deep the search went (a list is shorter only when the candidates ran out)
    near: np.ndarray | None = None  # (rows, depth) highest cosine with one of the anchor's positives


@dataclass
class _Chosen:
    """Per anchor: the negatives chosen (candidate index, score, rank; -1 padded), how many candidates
    passed every rule, and how many each rule removed."""

    ids: np.ndarray
    scores: np.ndarray
    ranks: np.ndarray
    eligible: np.ndarray
    removed: np.ndarray


def _search(pairs: _Pairs, candidates: _Candidates, range_maxes: np.ndarray, settings: Settings,
            reporter: Reporter) -> tuple[list[_Ranked], dict[str, Any]]:
    """Every anchor to the depth that 99% of anchors need; the few that need more (many positives)
    again, exactly and deeper, rather than making every anchor pay for the deepest one."""
    from cltool.mine.search import exact_search_top, exact_top, plan_search, search, searched_depth

    anchors, total = len(pairs.anchor_keys), len(candidates)
    if not anchors:
        return [], {}
    vectors = candidates.vectors[:total]
    depth = int(np.quantile(range_maxes, 0.99, method="higher"))
    plan = plan_search(settings.index, anchors, total, min(depth, total), settings.nprobe, settings.nlist)
    reporter.info(f"mine: {anchors:,} anchors x {total:,} candidates, top {min(depth, total)} by "
                  + ("exact search" if plan.index == "flat" else plan.index))
    # a few more than the depth, cut once the scores are exact: the result does not depend on how the
    # search was split (engine, partitions, threads)
    searched = searched_depth(depth, total) if plan.index != "hnsw" else depth
    with reporter.task("mine search", total=anchors, unit="anchors") as task:
        if settings.engine == "ray":
            from cltool.mine.ray_search import ray_search

            scores, ids = ray_search(pairs.queries, vectors, searched, plan, task, settings.seed, settings.ray_address)
        else:
            scores, ids = search(pairs.queries, vectors, searched, plan, task, settings.seed)
        scores, ids = exact_top(pairs.queries, vectors, scores, ids, depth)
    parts = [_Ranked(np.arange(anchors), ids, scores, depth)]
    deep = np.nonzero(range_maxes > depth)[0]
    info = {**plan.describe(), "depth": depth}
    if len(deep):
        deeper = int(range_maxes[deep].max())
        scores, ids = exact_search_top(pairs.queries[deep], vectors, deeper)
        parts.append(_Ranked(deep, ids, scores, deeper))
        info["deeper"] = {"anchors": len(deep), "depth": deeper, "index": "flat"}
    return parts, info


def _positives_of(rows: np.ndarray, offsets: np.ndarray, positive_ids: np.ndarray, positive_keys: np.ndarray):
    """The positives of the anchors `rows`, as offsets into their own (ids, keys) arrays."""
    counts = offsets[rows + 1] - offsets[rows]
    sub_offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(counts, out=sub_offsets[1:])
    flat = np.repeat(offsets[rows] - sub_offsets[:-1], counts) + np.arange(sub_offsets[-1])
    return sub_offsets, positive_ids[flat], positive_keys[flat]


def _select(parts: list[_Ranked], candidates: _Candidates, pairs: _Pairs, offsets, positive_ids, positive_keys,
            lowest, range_maxes, settings: Settings) -> _Chosen:
    """The kernel over each part; a later part (the deeper search) overrides an earlier one."""
    from cltool.kernels.mine import RULES

    anchors, n = len(pairs.anchor_keys), settings.num_negatives
    chosen = _Chosen(np.full((anchors, n), -1, dtype=np.int32), np.full((anchors, n), np.nan, dtype=np.float32),
                     np.full((anchors, n), -1, dtype=np.int32), np.zeros(anchors, dtype=np.int32),
                     np.zeros((anchors, len(RULES)), dtype=np.int32))
    for part in parts:
        _select_part(part, chosen, candidates, pairs, offsets, positive_ids, positive_keys, lowest, range_maxes,
                     settings)
    return chosen


def _select_part(part: _Ranked, chosen: _Chosen, candidates: _Candidates, pairs: _Pairs, offsets, positive_ids,
                 positive_keys, lowest, range_maxes, settings: Settings) -> None:
    """The kernel over one part's anchors; their choices replace what `chosen` held for them."""
    from cltool.kernels.mine import SAMPLING as KERNEL_SAMPLING, select_negatives  # noqa: I001

    keys = np.asarray(candidates.keys, dtype=np.uint64)
    seeds = pairs.anchor_keys ^ np.uint64((settings.seed * 0x9E3779B97F4A7C15) % (1 << 64))
    a = part.anchors
    sub_offsets, sub_ids, sub_keys = _positives_of(a, offsets, positive_ids, positive_keys)
    near = part.near if part.near is not None else np.full(part.ids.shape, np.nan, dtype=np.float32)
    ranks, eligible, removed = select_negatives(
        part.ids, part.scores, near, keys, sub_offsets, sub_ids, sub_keys, pairs.anchor_keys[a], lowest[a],
        settings.range_min, range_maxes[a], _off(settings.max_score), _off(settings.absolute_margin),
        _off(settings.relative_margin), _off(settings.min_score), _off(settings.near_duplicate),
        settings.num_negatives, KERNEL_SAMPLING.index(settings.sampling), settings.simans_a, settings.simans_b,
        seeds[a])
    taken = ranks >= 0
    safe = np.maximum(ranks, 0)
    chosen.ids[a] = np.where(taken, np.take_along_axis(part.ids, safe, axis=1), -1)
    chosen.scores[a] = np.where(taken, np.take_along_axis(part.scores, safe, axis=1), np.nan)
    chosen.ranks[a] = ranks
    chosen.eligible[a] = eligible
    chosen.removed[a] = removed


def _near_positives(part: _Ranked, candidates: _Candidates, offsets, positive_ids, positive_keys,
                    settings: Settings, save_candidates) -> None:
    """Each ranked candidate's highest cosine with one of its anchor's positives (the near-duplicate
    rule's signal; saved with the candidates)."""
    from cltool.kernels.mine import positive_similarity

    if settings.near_duplicate is not None or save_candidates:
        # positives are candidates: positive_ids index their vectors directly
        sub_offsets, sub_ids, _ = _positives_of(part.anchors, offsets, positive_ids, positive_keys)
        part.near = positive_similarity(part.ids, sub_offsets, sub_ids, candidates.vectors, 0, part.ids.shape[1])


def _deepen(parts: list[_Ranked], chosen: _Chosen, candidates: _Candidates, pairs: _Pairs, offsets, positive_ids,
            positive_keys, lowest, range_maxes: np.ndarray, settings: Settings, save_candidates) -> dict[str, Any]:
    """Anchors short of negatives after the rules are searched again, exactly, their window four times
    as deep each round, until they have enough or reach --max-window (or run out of candidates).
    A margin or a near-duplicate rule can empty a shallow window: a fill would put random texts where
    a mined negative belongs. Appends one part per round; returns what happened, for the manifest."""
    from cltool.kernels.mine import RULES
    from cltool.mine.search import exact_search_top

    total = len(candidates)
    cap = np.full(len(range_maxes), min(settings.max_window, total))
    saved = candidates.vectors is None  # --from-candidates: deeper only as far as the saved search went
    if saved:
        for part in parts:
            cap[part.anchors] = np.minimum(cap[part.anchors], part.depth)
    rounds = []
    while True:
        found = (chosen.ids >= 0).sum(axis=1)
        short = np.nonzero((found < settings.num_negatives) & (range_maxes < cap))[0]
        if not len(short):
            break
        range_maxes[short] = np.minimum(range_maxes[short] * 4, cap[short])
        depth = int(range_maxes[short].max())
        if saved:  # the saved lists already go this deep: choose again within the wider windows
            for part in parts:
                _select_part(part, chosen, candidates, pairs, offsets, positive_ids, positive_keys, lowest,
                             range_maxes, settings)
        else:
            scores, ids = exact_search_top(pairs.queries[short], candidates.vectors[:total], depth)
            part = _Ranked(short, ids, scores, depth)
            _near_positives(part, candidates, offsets, positive_ids, positive_keys, settings, save_candidates)
            _select_part(part, chosen, candidates, pairs, offsets, positive_ids, positive_keys, lowest, range_maxes,
                         settings)
            parts.append(part)
        rounds.append({"anchors": len(short), "depth": depth,
                       "filled": int(((chosen.ids[short] >= 0).sum(axis=1) >= settings.num_negatives).sum())})
    still = (chosen.ids >= 0).sum(axis=1) < settings.num_negatives
    return {"max_window": settings.max_window, "rounds": rounds,
            "anchors_deepened": rounds[0]["anchors"] if rounds else 0,
            "still_short": int(still.sum()),
            "still_short_at_max_window": int((still & (range_maxes >= settings.max_window)).sum()),
            "still_short_out_of_candidates": int((still & (range_maxes >= total)).sum()),
            "still_short_removed_by_rule": {rule: int(count) for rule, count in
                                            zip(RULES, chosen.removed[still].sum(axis=0)) if count}}


def _write(out: Output, dataset: Dataset, pairs: _Pairs, candidates: _Candidates, chosen: _Chosen, found,
           settings: Settings, replaced: list[str], task) -> None:
    ids = pa.array(candidates.ids, pa.string())
    texts = pa.array(candidates.texts, pa.large_string())
    row = 0
    for batch in dataset.batches():
        table = pa.Table.from_batches([batch]).drop_columns(replaced)
        out.count_input(table.num_rows)
        index = np.arange(row, row + table.num_rows)
        anchor = pairs.row_anchor[index]
        short = (anchor >= 0) & (found[np.maximum(anchor, 0)] < settings.min_negatives)
        keep = (anchor >= 0) & ~short
        kept = index[keep]
        a = pairs.row_anchor[kept]
        mask = chosen.ids[a] >= 0
        list_offsets = pa.array(np.concatenate([[0], np.cumsum(mask.sum(axis=1))]).astype(np.int32))
        negatives = pa.array(chosen.ids[a][mask])

        def lists(values: pa.Array) -> pa.Array:
            return pa.ListArray.from_arrays(list_offsets, values)

        mined = table.filter(pa.array(keep))
        mined = mined.append_column(NEGATIVES, lists(texts.take(negatives).cast(pa.string())))
        mined = mined.append_column(NEGATIVE_IDS, lists(ids.take(negatives)))
        mined = mined.append_column(NEGATIVE_SCORES, lists(pa.array(chosen.scores[a][mask], pa.float32())))
        mined = mined.append_column(NEGATIVE_RANKS, lists(pa.array(chosen.ranks[a][mask], pa.int32())))
        mined = mined.append_column(POSITIVE_SCORE, pa.array(pairs.row_score[kept], pa.float32()))
        out.write(mined)
        gone = index[~keep]
        if len(gone):
            reasons = [pairs.row_reason[i] or TOO_FEW_NEGATIVES for i in gone.tolist()]
            details = [_detail(pairs, i, found, chosen.eligible, settings) for i in gone.tolist()]
            out.reject(with_rejection(table.filter(pa.array(~keep)), reason=reasons, detail=details))
        row += table.num_rows
        task.advance(table.num_rows)


def _detail(pairs: _Pairs, row: int, found, eligible, settings: Settings) -> str:
    reason = pairs.row_reason[row]
    if reason == EMPTY_TEXT:
        return "anchor or positive is null or blank"
    if reason == INVALID_EMBEDDING:
        return "anchor or positive embedding is null, not finite or zero"
    a = pairs.row_anchor[row]
    return (f"{int(found[a])} negatives found, --min-negatives {settings.min_negatives} asked "
            f"({int(eligible[a])} candidates passed every rule)")


def _save_candidates(target: str, pairs: _Pairs, candidates: _Candidates, parts: list[_Ranked], params,
                     dataset: Dataset, corpora: Sequence[Dataset]) -> None:
    """One row per anchor with its ranked candidates (ids, scores, cosine to its nearest positive)
    and the depth searched, and OUT/_corpus with every candidate's id and text: enough to choose
    again without searching."""
    ids = pa.array(candidates.ids, pa.string())
    latest = np.full(len(pairs.anchor_keys), -1)
    for number, part in enumerate(parts):
        latest[part.anchors] = number  # a deeper search replaces the first
    with Output(target, command="mine --save-candidates", params=params, inputs=[dataset, *corpora]) as out:
        for number, part in enumerate(parts):
            for start in range(0, len(part.anchors), _LOAD_ROWS):
                rows = np.arange(start, min(start + _LOAD_ROWS, len(part.anchors)))
                rows = rows[latest[part.anchors[rows]] == number]
                a = part.anchors[rows]
                valid = part.ids[rows] >= 0
                offsets = pa.array(np.concatenate([[0], np.cumsum(valid.sum(axis=1))]).astype(np.int32))
                out.write(pa.table({
                    ANCHOR: pa.array([pairs.anchor_texts[i] for i in a], pa.string()),
                    ANCHOR_ID: pa.array([pairs.anchor_ids[i] for i in a], pa.string()),
                    ANCHOR_KEY: pa.array(pairs.anchor_keys[a], pa.uint64()),
                    DEPTH: pa.array(np.full(len(a), part.depth), pa.int32()),
                    CANDIDATE_IDS: pa.ListArray.from_arrays(offsets, ids.take(pa.array(part.ids[rows][valid]))),
                    CANDIDATE_SCORES: pa.ListArray.from_arrays(offsets, pa.array(part.scores[rows][valid],
                                                                                 pa.float32())),
                    CANDIDATE_NEAR: pa.ListArray.from_arrays(offsets, pa.array(part.near[rows][valid],
                                                                               pa.float32())),
                }))
        out.side_dataset(CANDIDATE_TEXTS).write(pa.table({
            CORPUS_ID: ids, CORPUS_TEXT: pa.array(candidates.texts, pa.large_string()),
            MATCH_KEY: pa.array(np.asarray(candidates.keys, dtype=np.uint64), pa.uint64())}))
        out.summary.update({"anchors": len(pairs.anchor_keys), "candidates": len(candidates)})


def _load_saved_candidates(source: str, pairs: _Pairs, current: _Candidates,
                           range_maxes: np.ndarray) -> tuple[_Candidates, list[_Ranked]]:
    """The saved search, lined up with this input's anchors; the input's positives re-indexed into
    the saved candidates (a positive that is not among them cannot come back, and is matched by text)."""
    saved = open_dataset(source)
    manifest = saved.manifest or {}
    if manifest.get("command") != "mine --save-candidates":
        raise InputError(f"{source} was not written by cltool mine --save-candidates",
                         hint="give the directory that --save-candidates wrote")
    info = manifest.get("params", {}).get("embedding")
    mine_info = embedding_info(pairs.fields[0])
    if info and mine_info and info.get("model_fingerprint") != mine_info.get("model_fingerprint"):
        raise InputError(f"the candidates in {source} were scored with {info.get('model_id')}, this input's "
                         f"embeddings come from {mine_info.get('model_id')}", hint="search again")
    texts = open_dataset(Path(source) / CANDIDATE_TEXTS)
    table = pa.Table.from_batches(list(texts.batches()), schema=texts.schema)
    candidates = _Candidates(table.column(CORPUS_ID).to_pylist(), table.column(CORPUS_TEXT).to_pylist(),
                             table.column(MATCH_KEY).to_pylist(), None)
    candidates.index = {cid: i for i, cid in enumerate(candidates.ids)}
    candidates.from_positives = int(manifest.get("summary", {}).get("candidates", len(candidates)))

    rows = pa.Table.from_batches(list(saved.batches()), schema=saved.schema)
    where = {key: i for i, key in enumerate(rows.column(ANCHOR_KEY).to_numpy())}
    missing = [t for t, key in zip(pairs.anchor_texts, pairs.anchor_keys.tolist()) if key not in where]
    if missing:
        raise InputError(f"{len(missing):,} anchors of this input have no saved candidates in {source}, e.g. "
                         f"{missing[0][:80]!r}", hint="--from-candidates needs the input the candidates were mined "
                                                      "for; search again for a different input")
    rows = rows.take(pa.array([where[key] for key in pairs.anchor_keys.tolist()], pa.int64()))
    depth = rows.column(DEPTH).to_numpy()
    too_deep = (range_maxes > depth) & (depth < len(candidates))
    if too_deep.any():
        worst = int(np.argmax(np.where(too_deep, range_maxes - depth, -1)))
        raise UsageError(f"the window reaches rank {int(range_maxes[worst])} but only {int(depth[worst])} candidates "
                         f"were saved for anchor {pairs.anchor_texts[worst][:60]!r} in {source}",
                         hint="use a smaller --range-max, or search again with a larger one")
    value_set = pa.array(candidates.ids, pa.string())
    parts = []
    for level in np.unique(depth):  # one part per depth searched: no anchor padded to the deepest
        a = np.nonzero(depth == level)[0]
        part_rows = rows.take(pa.array(a))
        lists = part_rows.column(CANDIDATE_IDS).combine_chunks()
        width = int(level)
        mask = np.arange(width)[None, :] < pc.list_value_length(lists).to_numpy(zero_copy_only=False)[:, None]
        part = _Ranked(a, np.full((len(a), width), -1, dtype=np.int32),
                       np.full((len(a), width), -np.inf, dtype=np.float32), width,
                       np.full((len(a), width), np.nan, dtype=np.float32))
        part.ids[mask] = pc.index_in(lists.flatten(), value_set=value_set).fill_null(-1).to_numpy(zero_copy_only=False)
        for target, column in ((part.scores, CANDIDATE_SCORES), (part.near, CANDIDATE_NEAR)):
            target[mask] = part_rows.column(column).combine_chunks().flatten().to_numpy(zero_copy_only=False)
        parts.append(part)
    # the positives of this input, as indices into the saved candidates
    positive_ids = np.array([candidates.index.get(cid, -1) for cid in current.ids], dtype=np.int64)
    pairs.row_positive = np.where(pairs.row_positive >= 0, positive_ids[np.maximum(pairs.row_positive, 0)], -1)
    return candidates, parts

"""`cltool emit`: the files trainers load, from mined (and filtered) pairs.

Formats, column order as the sentence-transformers losses take them (a `label`, `labels`, `score`
or `scores` column is the label; every other column is an input, in order):

  triplet       anchor, positive, negative                      one row per negative
  n-tuple       anchor, positive, negative_1 .. negative_n      one row per pair
  labeled-pair  anchor, text, label (1 positive, 0 negative)    one row per text
  labeled-list  anchor, texts, labels                           one row per pair
  bge           FlagEmbedding JSONL: query, pos, neg, [pos_scores, neg_scores], [prompt], one per anchor

`--include-scores` adds `scores` ([positive, negatives...]) to triplet and n-tuple and replaces
the label by the score in the labeled formats, as sentence-transformers' own miner does; bge gets
pos_scores and neg_scores. Cross-encoder scores (from `cltool filter`) are used where present.
Beside each file it writes FILE.hardness.parquet, row for row with it: every score the chain
recorded for the positives and negatives of that row, in their column order (`positive_scores`,
`negative_scores`, `negative_ranks`, each filter judge's `negative_*_scores`; null for a filled
negative). sentence-transformers reads every extra column of a training file as an input, so these
live apart: a trainer re-weights or orders the rows by them without re-mining.

Anchors short of negatives are never dropped silently (DESIGN §8): `--short fill` (default) tops
them up with positives of other anchors, never one of the anchor's own positives or the anchor (by
match key), drawn per anchor from a seeded stream, as in-batch negatives would be; `drop` sends
their rows to the rejected dataset; `pairs` writes them to a separate (anchor, positive) file.

`--split dev=0.05` puts whole groups in one split: rows sharing an anchor or a positive text
(transitively) never straddle two splits.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cltool import __version__
from cltool.dataset.pairs import (
    ANCHOR,
    JUDGE_SCORE_COLUMNS,
    NEGATIVE_CE_SCORES,
    NEGATIVE_RANKS,
    NEGATIVE_SCORES,
    NEGATIVES,
    POSITIVE,
    POSITIVE_CE_SCORE,
    POSITIVE_SCORE,
    blank_mask,
    match_keys,
)
from cltool.dataset.read import Dataset, open_dataset
from cltool.dataset.write import Output
from cltool.errors import InputError, UsageError
from cltool.progress import NullReporter, Reporter

FORMATS = ("triplet", "n-tuple", "labeled-pair", "labeled-list", "bge")
EXTENSIONS = (".jsonl", ".jsonl.gz", ".parquet")
SHORT_POLICIES = ("fill", "drop", "pairs")
NEEDS_NEGATIVES = ("triplet", "n-tuple", "bge")  # formats where a short anchor cannot be written as it is
TRAIN = "train"
TOO_FEW_NEGATIVES, EMPTY_TEXT, MAX_ROWS = "too_few_negatives", "empty_text", "max_rows"


@dataclass
class Settings:
    format: str = "n-tuple"
    num_negatives: int | None = None  # default: what mine was asked for, else the most any row has
    split: dict[str, float] = field(default_factory=dict)  # name -> share of the rows; the rest is train
    seed: int = 1
    shuffle: bool = False
    include_scores: bool = False
    max_rows: int | None = None
    short: str = "fill"
    prompt: str | None = None

    def check(self) -> None:
        if self.format not in FORMATS:
            raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {self.format!r}")
        if self.short not in SHORT_POLICIES:
            raise UsageError(f"--short must be one of {', '.join(SHORT_POLICIES)}, not {self.short!r}")
        if self.num_negatives is not None and self.num_negatives < 1:
            raise UsageError(f"--num-negatives must be at least 1, not {self.num_negatives}")
        if self.max_rows is not None and self.max_rows < 1:
            raise UsageError(f"--max-rows must be at least 1, not {self.max_rows}")
        if any(not 0.0 < share < 1.0 for share in self.split.values()) or sum(self.split.values()) >= 1.0:
            raise UsageError("--split shares must each lie in (0, 1) and leave some rows for train",
                             hint="e.g. --split dev=0.05 or --split dev=0.05,test=0.05")
        if TRAIN in self.split:
            raise UsageError("--split names the held-out splits; train gets the rest", hint="e.g. --split dev=0.05")
        if self.prompt is not None and self.format != "bge":
            raise UsageError("--prompt is a field of the bge format", hint="add --format bge, or leave --prompt out")


def parse_split(spec: str | None) -> dict[str, float]:
    """`dev=0.05,test=0.05` -> {"dev": 0.05, "test": 0.05}."""
    out: dict[str, float] = {}
    for item in (spec or "").split(","):
        if not item.strip():
            continue
        name, _, share = item.partition("=")
        try:
            out[name.strip()] = float(share)
        except ValueError:
            raise UsageError(f"--split takes NAME=SHARE pairs, like dev=0.05, not {item!r}") from None
        if not name.strip().replace("-", "").replace("_", "").isalnum():
            raise UsageError(f"a split name is letters, digits, - and _, not {name!r}")
    return out


def output_extension(path: str) -> str:
    for ext in EXTENSIONS:
        if path.endswith(ext):
            return ext
    raise UsageError(f"cannot write {path!r}: emit writes {', '.join(EXTENSIONS)} files (chosen by the extension), "
                     "or - for JSONL on stdout", hint="e.g. -o data/train.jsonl")


def split_path(path: str, split: str | None) -> Path:
    """The file of one split: {split} replaced, or -SPLIT before the extension; the path itself when unsplit."""
    if "{split}" in path:
        return Path(path.replace("{split}", split or TRAIN))
    if split is None:
        return Path(path)
    ext = output_extension(path)
    return Path(path[:-len(ext)] + f"-{split}" + ext)


@dataclass
class _Rows:
    anchors: list[str]
    positives: list[str]
    negatives: list[list[str]]
    negative_scores: list[list[float | None]]  # the label scores: the cross-encoder's where filter made them
    positive_scores: list[float | None]
    anchor_keys: np.ndarray
    positive_keys: np.ndarray
    score_source: str | None
    # what the hardness file carries: per row, the positive's scores, and lists parallel to negatives
    positive_columns: dict[str, list] = field(default_factory=dict)
    negative_columns: dict[str, list[list]] = field(default_factory=dict)


def _read(dataset: Dataset) -> tuple[pa.Table, _Rows]:
    names = dataset.schema.names
    for column in (ANCHOR, POSITIVE):
        if column not in names:
            raise InputError(f"{dataset.source} has no column {column!r}; columns found: {', '.join(names)}",
                             hint="emit reads the output of cltool mine (or cltool filter)")
    if NEGATIVES not in names:
        raise InputError(f"{dataset.source} has no mined negatives (no {NEGATIVES!r} column): cltool mine adds them",
                         hint=f"mine them first: cltool mine {dataset.source} -o MINED")
    table = pa.Table.from_batches(list(dataset.batches()), schema=dataset.schema)
    anchors, positives = table.column(ANCHOR).to_pylist(), table.column(POSITIVE).to_pylist()
    raw = [list(row or ()) for row in table.column(NEGATIVES).to_pylist()]
    present = [[j for j, t in enumerate(row) if t is not None] for row in raw]  # a null negative is no negative
    negatives = [[row[j] for j in keep] for row, keep in zip(raw, present)]
    negative_columns = {}
    for column in (NEGATIVE_SCORES, NEGATIVE_RANKS, *dict.fromkeys(JUDGE_SCORE_COLUMNS.values())):
        if column in names:
            values = [list(row or ()) for row in table.column(column).to_pylist()]
            negative_columns[column] = [[row[j] if j < len(row) else None for j in keep]
                                        for row, keep in zip(values, present)]
    positive_columns = {c: table.column(c).to_pylist() for c in (POSITIVE_SCORE, POSITIVE_CE_SCORE) if c in names}
    if NEGATIVE_CE_SCORES in negative_columns and POSITIVE_CE_SCORE in positive_columns:
        scores, source = (NEGATIVE_CE_SCORES, POSITIVE_CE_SCORE), "cross-encoder"
    elif NEGATIVE_SCORES in negative_columns and POSITIVE_SCORE in positive_columns:
        scores, source = (NEGATIVE_SCORES, POSITIVE_SCORE), "mine"
    else:
        scores, source = (), None
    negative_scores = negative_columns[scores[0]] if scores else [[None] * len(row) for row in negatives]
    positive_scores = positive_columns[scores[1]] if scores else [None] * len(anchors)
    rows = _Rows(anchors, positives, negatives, negative_scores, positive_scores,
                 np.array(match_keys(anchors), dtype=np.uint64), np.array(match_keys(positives), dtype=np.uint64),
                 source, positive_columns, negative_columns)
    return table, rows


def _mined_num_negatives(dataset: Dataset) -> int | None:
    """num_negatives of the mine step this data came from (the manifest's lineage), if any."""
    manifest = dataset.manifest or {}
    if manifest.get("command") == "mine":
        return manifest.get("params", {}).get("num_negatives")
    for step in reversed(manifest.get("lineage", [])):
        if step.get("command") == "mine":
            return (step.get("params") or {}).get("num_negatives")
    return None


def _groups(rows: _Rows) -> np.ndarray:
    """Per row, a group label: rows sharing an anchor or a positive (by match key), transitively."""
    parent = list(range(len(rows.anchors)))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first: dict[tuple[int, int], int] = {}
    for r in range(len(rows.anchors)):
        for key in ((0, int(rows.anchor_keys[r])), (1, int(rows.positive_keys[r]))):
            seen = first.setdefault(key, r)
            if seen != r:
                a, b = root(seen), root(r)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    return np.array([root(r) for r in range(len(rows.anchors))], dtype=np.int64)


def _assign_splits(groups: np.ndarray, shares: dict[str, float], seed: int) -> np.ndarray:
    """Per row, its split index (0 = train, then the --split names in order): whole groups, visited in a
    seeded order, each to the split furthest below its share so far."""
    names = [TRAIN, *shares]
    targets = np.array([1.0 - sum(shares.values()), *shares.values()]) * len(groups)
    labels, sizes = np.unique(groups, return_counts=True)
    order = np.random.default_rng(seed).permutation(len(labels))
    filled = np.zeros(len(names))
    split_of_group = np.empty(len(labels), dtype=np.int64)
    for g in order:
        choice = int(np.argmax(targets - filled))
        split_of_group[g] = choice
        filled[choice] += sizes[g]
    return split_of_group[np.searchsorted(labels, groups)]


def _fill(rows: _Rows, short_rows: np.ndarray, n: int, seed: int) -> tuple[dict[int, list[str]], int]:
    """Extra negatives per short anchor: other anchors' positives (and negatives), never one of this
    anchor's positives, the anchor, or a text it already has (all by match key). Drawn from a
    stream seeded by the anchor, so the result does not depend on the other rows' order."""
    pool: dict[int, str] = {}
    for texts in (rows.positives, [t for row in rows.negatives for t in row]):
        for key, text in zip(match_keys(texts), texts):
            pool.setdefault(key, text)
    pool_keys = np.fromiter(pool.keys(), dtype=np.uint64, count=len(pool))
    pool_texts = list(pool.values())
    own: dict[int, set[int]] = {}
    for r in range(len(rows.anchors)):
        own.setdefault(int(rows.anchor_keys[r]), {int(rows.anchor_keys[r])}).add(int(rows.positive_keys[r]))
    fills: dict[int, list[str]] = {}
    for r in short_rows.tolist():
        anchor = int(rows.anchor_keys[r])
        if anchor in fills:
            continue
        taken = own[anchor] | set(match_keys(rows.negatives[r]))
        need = n - len(rows.negatives[r])
        rng = np.random.default_rng([seed, anchor])
        chosen: list[str] = []
        # random draws, rejecting what is taken: cheap while the pool is much larger than what an
        # anchor excludes; a few rounds, then a walk over the whole pool in a random order
        for attempt in range(4):
            draws = rng.integers(0, len(pool_keys), size=4 * need + 16) if attempt < 3 else rng.permutation(
                len(pool_keys))
            for i in draws.tolist():
                key = int(pool_keys[i])
                if key not in taken:
                    chosen.append(pool_texts[i])
                    taken.add(key)
                    if len(chosen) == need:
                        break
            if len(chosen) == need:
                break
        fills[anchor] = chosen
    return fills, sum(len(v) for v in fills.values())


# One line of a training file: the row whose anchor it holds, the rows whose positives it holds, and the
# negatives it holds as (row, position in that row's negatives). The training columns and the hardness
# file are both made from these, so they line up row for row.
_Line = tuple[int, list[int], list[tuple[int, int]]]


def _lines(fmt: str, rows: _Rows, index: np.ndarray, negatives: list[list[str]]) -> list[_Line]:
    """The lines of format `fmt` for the rows `index` (negatives are per row, already filled and cut)."""
    if fmt == "triplet":
        return [(r, [r], [(r, j)]) for r in index.tolist() for j in range(len(negatives[r]))]
    if fmt == "labeled-pair":  # the positive's line, then one line per negative
        return [line for r in index.tolist()
                for line in [(r, [r], []), *((r, [], [(r, j)]) for j in range(len(negatives[r])))]]
    if fmt != "bge":
        return [(r, [r], [(r, j) for j in range(len(negatives[r]))]) for r in index.tolist()]
    # bge: one line per anchor, its positives and negatives gathered from all its rows, in order, each text once
    members: dict[int, list[int]] = {}
    for r in index.tolist():
        members.setdefault(int(rows.anchor_keys[r]), []).append(r)
    lines = []
    for group in members.values():
        positives: dict[str, int] = {}
        slots: dict[str, tuple[int, int]] = {}
        for r in group:
            positives.setdefault(rows.positives[r], r)
            for j, text in enumerate(negatives[r]):
                slots.setdefault(text, (r, j))
        lines.append((group[0], list(positives.values()), list(slots.values())))
    return lines


def _records(fmt: str, rows: _Rows, lines: list[_Line], negatives: list[list[str]], scores: list[list],
             n: int, include_scores: bool, prompt: str | None) -> pa.Table:
    """The training table of `lines` in format `fmt` (scores: per row, parallel to negatives)."""
    anchor = [rows.anchors[a] for a, _, _ in lines]
    pos = [[rows.positives[r] for r in ps] for _, ps, _ in lines]
    neg = [[negatives[r][j] for r, j in slots] for _, _, slots in lines]
    pos_score = [[rows.positive_scores[r] for r in ps] for _, ps, _ in lines]
    neg_score = [[scores[r][j] for r, j in slots] for _, _, slots in lines]
    floats = pa.list_(pa.float32())
    if fmt == "triplet":
        columns = {"anchor": anchor, "positive": [p[0] for p in pos], "negative": [x[0] for x in neg]}
        if include_scores:
            columns["scores"] = pa.array([ps + ns for ps, ns in zip(pos_score, neg_score)], floats)
        return pa.table(columns)
    if fmt == "n-tuple":
        columns = {"anchor": anchor, "positive": [p[0] for p in pos],
                   **{f"negative_{j + 1}": [x[j] for x in neg] for j in range(n)}}
        if include_scores:
            columns["scores"] = pa.array([ps + ns for ps, ns in zip(pos_score, neg_score)], floats)
        return pa.table(columns)
    if fmt == "labeled-pair":
        columns = {"anchor": anchor, "text": [(p + x)[0] for p, x in zip(pos, neg)]}
        if include_scores:
            columns["score"] = pa.array([(ps + ns)[0] for ps, ns in zip(pos_score, neg_score)], pa.float32())
        else:
            columns["label"] = pa.array([1 if p else 0 for p in pos], pa.int64())
        return pa.table(columns)
    if fmt == "labeled-list":
        columns = {"anchor": anchor, "texts": [p + x for p, x in zip(pos, neg)]}
        if include_scores:
            columns["scores"] = pa.array([ps + ns for ps, ns in zip(pos_score, neg_score)], floats)
        else:
            columns["labels"] = pa.array([[1] * len(p) + [0] * len(x) for p, x in zip(pos, neg)], pa.list_(pa.int64()))
        return pa.table(columns)
    columns = {"query": anchor, "pos": pos, "neg": neg}
    if include_scores:
        columns["pos_scores"] = pa.array(pos_score, floats)
        columns["neg_scores"] = pa.array(neg_score, floats)
    if prompt is not None:
        columns["prompt"] = [prompt] * len(anchor)
    return pa.table(columns)


def _hardness(rows: _Rows, lines: list[_Line]) -> pa.Table:
    """Row for row with a training file: the scores of the positives and negatives each line holds, in
    their column order, as mine and filter recorded them (null for a negative emit filled)."""
    def negative_values(values: list[list]) -> list[list]:
        return [[values[r][j] if j < len(values[r]) else None for r, j in slots] for _, _, slots in lines]

    columns: dict[str, pa.Array] = {}
    for name, values in rows.positive_columns.items():
        columns[name.replace("_score", "_scores")] = pa.array([[values[r] for r in ps] for _, ps, _ in lines],
                                                               pa.list_(pa.float32()))
    for name, values in rows.negative_columns.items():
        kind = pa.int32() if name == NEGATIVE_RANKS else pa.float32()
        columns[name] = pa.array(negative_values(values), pa.list_(kind))
    return pa.table(columns)


def _write_file(table: pa.Table, path: Path | None, ext: str, stdout: IO[bytes] | None) -> dict[str, Any]:
    """One output file, written under a hidden temporary name and renamed by the caller; or JSONL on stdout."""
    import polars as pl

    if path is None:
        stream = stdout if stdout is not None else sys.stdout.buffer
        pl.from_arrow(table).write_ndjson(stream)
        stream.flush()
        return {"path": "-", "rows": table.num_rows}
    tmp = path.parent / f".{path.name}.cltool-tmp-{os.getpid()}"
    if ext == ".parquet":
        pq.write_table(table, tmp, compression="zstd")
    elif ext == ".jsonl.gz":
        with gzip.open(tmp, "wb", compresslevel=6) as f:
            pl.from_arrow(table).write_ndjson(f)
    else:
        pl.from_arrow(table).write_ndjson(tmp)
    digest = hashlib.sha256()
    with open(tmp, "rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
    return {"path": str(path), "tmp": str(tmp), "rows": table.num_rows, "bytes": tmp.stat().st_size,
            "sha256": digest.hexdigest()}


def emit(
    input: str,
    output: str,
    settings: Settings | None = None,
    *,
    rejected_output: str | None = None,
    argv: Sequence[str] | None = None,
    reporter: Reporter | None = None,
    stdin: IO[bytes] | None = None,
    stdout: IO[bytes] | None = None,
) -> dict[str, Any]:
    """Write the training files for `input`; returns the manifest (also written beside the files)."""
    started = time.perf_counter()
    reporter = reporter or NullReporter()
    settings = settings or Settings()
    settings.check()
    to_stdout = output == "-"
    ext = ".jsonl" if to_stdout else output_extension(output)
    if to_stdout and (settings.split or settings.short == "pairs"):
        raise UsageError("stdout holds one JSONL file: --split and --short pairs write several",
                         hint="write to a file with -o PATH.jsonl")
    if to_stdout and settings.include_scores:
        reporter.warn("--include-scores with -o -: the label scores go to stdout, the hardness file (ranks and "
                      "judge scores) is written only beside a file")
    dataset = open_dataset(input, stdin=stdin)
    table, rows = _read(dataset)
    if not rows.anchors:
        raise InputError(f"{dataset.source} is empty: it has no rows", hint="check that the right input was given")
    n = settings.num_negatives or _mined_num_negatives(dataset) or max((len(x) for x in rows.negatives), default=0)
    if n == 0 and settings.format in NEEDS_NEGATIVES:
        raise InputError(f"no row of {dataset.source} has a negative, and --num-negatives was not given",
                         hint="mine negatives first, or give --num-negatives N to fill from other anchors' positives")

    count = len(rows.anchors)
    reasons: list[str | None] = [None] * count
    details: list[str | None] = [None] * count
    blank = blank_mask(table.column(ANCHOR)) | blank_mask(table.column(POSITIVE))
    for r in np.nonzero(blank)[0].tolist():
        reasons[r], details[r] = EMPTY_TEXT, "anchor or positive is null or blank"
    negatives = [list(x) for x in rows.negatives]
    scores = [list(x) for x in rows.negative_scores]
    summary: dict[str, Any] = {"format": settings.format, "num_negatives": n, "scores": rows.score_source}
    lengths = np.array([len(x) for x in negatives])
    short = np.nonzero((lengths < n) & ~blank)[0] if settings.format in NEEDS_NEGATIVES else np.empty(0, int)
    to_pairs = np.zeros(count, dtype=bool)
    summary["rows_short"] = int(len(short))
    if len(short) and settings.short == "fill":
        fills, added = _fill(rows, short, n, settings.seed)
        for r in short.tolist():
            extra = fills[int(rows.anchor_keys[r])][:n - len(negatives[r])]
            negatives[r] += extra
            scores[r] += [None] * len(extra)
            if len(negatives[r]) < n:
                reasons[r] = TOO_FEW_NEGATIVES
                details[r] = f"{len(negatives[r])} negatives after filling from every other text, {n} asked"
        summary["fill"] = {"anchors": len(fills), "negatives_added": added}
    elif len(short) and settings.short == "drop":
        for r in short.tolist():
            reasons[r] = TOO_FEW_NEGATIVES
            details[r] = f"{len(negatives[r])} negatives, {n} asked (--short drop)"
    elif len(short):
        to_pairs[short] = True
    for r in range(count):  # more negatives than asked: the first n (the hardest, as mined)
        if settings.format in ("n-tuple", "triplet", "bge") and len(negatives[r]) > n:
            negatives[r], scores[r] = negatives[r][:n], scores[r][:n]

    usable = np.array([reason is None for reason in reasons])
    order = np.arange(count)
    if settings.shuffle:
        order = np.random.default_rng(settings.seed).permutation(count)
    if settings.max_rows is not None:
        candidates = order[usable[order]]
        for r in candidates[settings.max_rows:].tolist():
            reasons[r], details[r] = MAX_ROWS, f"beyond --max-rows {settings.max_rows}"
        usable = np.array([reason is None for reason in reasons])
    split_of = np.zeros(count, dtype=np.int64)
    names = [TRAIN, *settings.split]
    if settings.split:
        split_of = _assign_splits(_groups(rows), settings.split, settings.seed)
    leaks = _leaks(rows, split_of, usable) if settings.split else 0

    files: list[dict[str, Any]] = []
    for s, name in enumerate(names):
        chosen = order[(split_of[order] == s) & usable[order] & ~to_pairs[order]]
        split = name if settings.split else None
        target = None if to_stdout else split_path(output, split)
        if target is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
        lines = _lines(settings.format, rows, chosen, negatives)
        records = _records(settings.format, rows, lines, negatives, scores, n, settings.include_scores,
                           settings.prompt)
        files.append({"split": name, "pairs": int(len(chosen)),
                      **_write_file(records, target, ext, stdout)})
        if settings.include_scores and target is not None:
            files.append({"split": name, "role": "hardness", "pairs": int(len(chosen)),
                          **_write_file(_hardness(rows, lines), hardness_path(target), ".parquet", None)})
        paired = order[(split_of[order] == s) & usable[order] & to_pairs[order]]
        if len(paired):
            pairs_table = pa.table({"anchor": [rows.anchors[i] for i in paired.tolist()],
                                    "positive": [rows.positives[i] for i in paired.tolist()]})
            files.append({"split": f"{name}-pairs", "pairs": int(len(paired)),
                          **_write_file(pairs_table, split_path(output, f"{name}-pairs" if split else "pairs"),
                                        ext, stdout)})

    gone = np.array([reason is not None for reason in reasons])
    rejected_counts: dict[str, int] = {}
    for reason in reasons:
        if reason is not None:
            rejected_counts[reason] = rejected_counts.get(reason, 0) + 1
    manifest = {
        "format": "cltool-emit/1",
        "cltool_version": __version__,
        "command": "emit",
        "argv": list(argv) if argv is not None else None,
        "params": {**vars(settings), "num_negatives": n},
        "inputs": [{"source": dataset.source, "files": dataset.describe_inputs()}],
        "outputs": [{k: v for k, v in f.items() if k != "tmp"} for f in files],
        "rows": {"input": count, "emitted": int((usable & ~to_pairs).sum()),
                 "pairs_file": int((usable & to_pairs).sum()), "rejected": int(gone.sum())},
        "rejected_by_reason": dict(sorted(rejected_counts.items())),
        "summary": {**summary, "splits": {f["split"]: f["pairs"] for f in files if "role" not in f},
                    "split_leaks": leaks},
    }
    if gone.any():
        target = rejected_output or (None if to_stdout else str(sidecar(output, "rejected")))
        if target is None:
            reporter.warn(f"{int(gone.sum()):,} rows were not emitted and not kept: with -o - add --rejected DIR")
        else:
            from cltool.dataset.write import with_rejection

            removed = table.filter(pa.array(gone))
            with Output(target, command="emit", params=manifest["params"], inputs=[dataset], argv=argv) as out:
                out.write(with_rejection(removed, reason=[r for r in reasons if r is not None],
                                         detail=[d for r, d in zip(reasons, details) if r is not None]))
            manifest["rejected_dataset"] = target
    manifest["wall_time_s"] = round(time.perf_counter() - started, 3)
    for f in files:  # every file is complete: now they take their names, the manifest last
        if "tmp" in f:
            os.replace(f["tmp"], f["path"])
    if not to_stdout:
        path = sidecar(output, "manifest.json")
        tmp = path.parent / f".{path.name}.cltool-tmp-{os.getpid()}"
        tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        manifest["manifest_path"] = str(path)
    return manifest


def hardness_path(path: Path) -> Path:
    """train.jsonl -> train.hardness.parquet: the scores and ranks, row for row with the training file."""
    return path.with_name(path.name[:-len(output_extension(path.name))] + ".hardness.parquet")


def sidecar(output: str, suffix: str) -> Path:
    """OUT.manifest.json / OUT.rejected beside the output ({split} dropped from the name)."""
    ext = output_extension(output)
    base = output[:-len(ext)].replace("-{split}", "").replace("{split}", "emit")
    return Path(f"{base}.{suffix}")


def _leaks(rows: _Rows, split_of: np.ndarray, usable: np.ndarray) -> int:
    """Anchor or positive texts (by match key) found in more than one split: 0 by construction, checked."""
    seen: dict[tuple[int, int], int] = {}
    leaks = set()
    for r in np.nonzero(usable)[0].tolist():
        for key in ((0, int(rows.anchor_keys[r])), (1, int(rows.positive_keys[r]))):
            if seen.setdefault(key, int(split_of[r])) != split_of[r]:
                leaks.add(key)
    return len(leaks)

"""Emit's input: mined (and filtered) pairs, read whole, with every score the chain recorded."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from cltool.dataset.columns import (
    ANCHOR,
    NEGATIVE_CE_SCORES,
    NEGATIVE_RANKS,
    NEGATIVE_SCORES,
    NEGATIVES,
    POSITIVE,
    POSITIVE_CE_SCORE,
    POSITIVE_SCORE,
)
from cltool.dataset.pairs import match_keys
from cltool.dataset.read import Dataset
from cltool.errors import InputError
from cltool.filter.judges import score_columns


@dataclass
class Rows:
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


def read_rows(dataset: Dataset) -> tuple[pa.Table, Rows]:
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
    for column in (NEGATIVE_SCORES, NEGATIVE_RANKS, *score_columns()):
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
    rows = Rows(anchors, positives, negatives, negative_scores, positive_scores,
                np.array(match_keys(anchors), dtype=np.uint64), np.array(match_keys(positives), dtype=np.uint64),
                source, positive_columns, negative_columns)
    return table, rows


def mined_num_negatives(dataset: Dataset) -> int | None:
    """num_negatives of the mine step this data came from (the manifest's lineage), if any."""
    manifest = dataset.manifest or {}
    if manifest.get("command") == "mine":
        return manifest.get("params", {}).get("num_negatives")
    for step in reversed(manifest.get("lineage", [])):
        if step.get("command") == "mine":
            return (step.get("params") or {}).get("num_negatives")
    return None

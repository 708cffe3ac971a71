"""Filter's first pass: rows grouped into anchors by the anchor's match key, as `mine` does; every
distinct (anchor, negative id) is one pair to judge, and every positive of the anchor (all its
rows') is what the negative is compared with."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cltool.dataset.columns import (
    ANCHOR,
    ANCHOR_ID,
    NEGATIVE_IDS,
    NEGATIVE_SCORES,
    NEGATIVES,
    POSITIVE,
    POSITIVE_ID,
    POSITIVE_SCORE,
)
from cltool.dataset.pairs import blank_mask, given_or_derived, ids_and_match_keys, require_text_columns
from cltool.dataset.read import Dataset
from cltool.dataset.texts import TextTable
from cltool.errors import InputError
from cltool.filter.judges import Work

LOAD_ROWS = 65_536


@dataclass
class Loaded:
    work: Work
    texts: TextTable  # work.texts and work.text_ids are its lists: a text added here is the judges' too
    anchor_keys: list[int]
    anchor_ids: list[str]
    row_anchor: np.ndarray  # per row: anchor index, -1 for a row rejected as empty
    row_positive: np.ndarray  # per row: text index of its positive
    pair_index: dict[tuple[int, int], int]  # (anchor, text) -> pair
    pair_anchor: np.ndarray
    pair_text: np.ndarray
    pair_score: np.ndarray  # the miner's score of the pair (NaN when the input has none)
    anchor_negatives: list[list[int]]  # per anchor: its pairs, in their first order
    anchor_lowest_score: np.ndarray  # per anchor: the miner's lowest positive score (NaN when unknown)

    def kept_pairs(self, false: np.ndarray, anchor: int) -> list[int]:
        """The anchor's pairs (in their first order) that no vote found false."""
        return [p for p in self.anchor_negatives[anchor] if not false[p]]


def require_mined(dataset: Dataset) -> None:
    """Text anchors and positives, and mined negatives."""
    require_text_columns(dataset.source, dataset.schema, (ANCHOR, POSITIVE),
                         hint="filter reads the output of cltool mine")
    if NEGATIVES not in dataset.schema.names:
        raise InputError(f"{dataset.source} has no mined negatives (no {NEGATIVES!r} column): cltool mine adds them",
                         hint=f"mine them first: cltool mine {dataset.source} -o MINED")


def _given(batch: pa.RecordBatch, column: str) -> list[str | None] | None:
    """The batch's ids in `column` as text (None: the input has no such column)."""
    return pc.cast(batch.column(column), pa.string()).to_pylist() if column in batch.schema.names else None


def negatives_of(batch: pa.RecordBatch, source: str) -> tuple[list, list, list, list, list[int]]:
    """The batch's negatives flattened: texts, ids (given, else derived), match keys, the miner's
    scores, and how many each row has."""
    negatives = batch.column(NEGATIVES).to_pylist()
    counts = [len(row or ()) for row in negatives]
    texts = [t for row in negatives for t in (row or ())]
    ids, keys = ids_and_match_keys(texts)
    for column in (NEGATIVE_IDS, NEGATIVE_SCORES):
        if column in batch.schema.names:
            lengths = pc.list_value_length(batch.column(column)).fill_null(0).to_pylist()
            if lengths != counts:
                raise InputError(f"{source}: {NEGATIVES} and {column} differ in length on some rows",
                                 hint="the lists must be parallel, as cltool mine writes them")
    given = ([i for row in batch.column(NEGATIVE_IDS).to_pylist() for i in (row or ())]
             if NEGATIVE_IDS in batch.schema.names else None)
    ids = given_or_derived(given, texts, derived=ids)
    scores = ([s for row in batch.column(NEGATIVE_SCORES).to_pylist() for s in (row or ())]
              if NEGATIVE_SCORES in batch.schema.names else [None] * len(texts))
    return texts, ids, keys, scores, counts


def load(dataset: Dataset) -> Loaded:
    names = dataset.schema.names
    wanted = [c for c in (ANCHOR, POSITIVE, ANCHOR_ID, POSITIVE_ID, NEGATIVES, NEGATIVE_IDS, NEGATIVE_SCORES,
                          POSITIVE_SCORE) if c in names]
    texts = TextTable()
    anchor_index: dict[int, int] = {}
    anchor_texts: list[str] = []
    anchor_keys: list[int] = []
    anchor_ids: list[str] = []
    anchor_positives: list[dict[int, None]] = []
    anchor_negatives: list[list[int]] = []
    anchor_lowest: list[float] = []
    pair_index: dict[tuple[int, int], int] = {}
    pair_anchor: list[int] = []
    pair_text: list[int] = []
    pair_score: list[float] = []
    row_anchor: list[int] = []
    row_positive: list[int] = []

    for batch in dataset.batches(columns=wanted, batch_rows=LOAD_ROWS):
        blank = blank_mask(batch.column(ANCHOR)) | blank_mask(batch.column(POSITIVE))
        a_texts, p_texts = batch.column(ANCHOR).to_pylist(), batch.column(POSITIVE).to_pylist()
        a_derived, a_keys = ids_and_match_keys(a_texts)
        p_derived, p_keys = ids_and_match_keys(p_texts)
        a_ids = given_or_derived(_given(batch, ANCHOR_ID), a_texts, derived=a_derived)
        p_ids = given_or_derived(_given(batch, POSITIVE_ID), p_texts, derived=p_derived)
        negative_texts_flat, n_ids, n_keys, n_scores, counts = negatives_of(batch, dataset.source)
        p_scores = (batch.column(POSITIVE_SCORE).to_pylist() if POSITIVE_SCORE in batch.schema.names
                    else [None] * batch.num_rows)
        flat = 0
        for r in range(batch.num_rows):
            if blank[r]:
                row_anchor.append(-1)
                row_positive.append(-1)
                flat += counts[r]
                continue
            a = anchor_index.get(a_keys[r])
            if a is None:
                a = anchor_index[a_keys[r]] = len(anchor_texts)
                anchor_texts.append(a_texts[r])
                anchor_keys.append(a_keys[r])
                anchor_ids.append(a_ids[r])
                anchor_positives.append({})
                anchor_negatives.append([])
                anchor_lowest.append(np.nan)
            p = texts.add(p_ids[r], p_texts[r], p_keys[r])
            anchor_positives[a][p] = None
            if p_scores[r] is not None and not anchor_lowest[a] <= p_scores[r]:
                anchor_lowest[a] = p_scores[r]
            row_anchor.append(a)
            row_positive.append(p)
            for j in range(counts[r]):
                value = negative_texts_flat[flat + j]
                if value is None:
                    continue
                t = texts.add(n_ids[flat + j], value, n_keys[flat + j])
                if (a, t) not in pair_index:
                    pair_index[(a, t)] = len(pair_anchor)
                    pair_anchor.append(a)
                    pair_text.append(t)
                    score = n_scores[flat + j]
                    pair_score.append(np.nan if score is None else score)
                    anchor_negatives[a].append(pair_index[(a, t)])
            flat += counts[r]

    positive_offsets = np.zeros(len(anchor_texts) + 1, dtype=np.int64)
    positive_offsets[1:] = np.cumsum([len(p) for p in anchor_positives])
    positive_texts = np.fromiter((t for p in anchor_positives for t in p), dtype=np.int64,
                                 count=int(positive_offsets[-1]))
    work = Work(anchor_texts, texts.texts, texts.ids, positive_offsets, positive_texts)
    return Loaded(work, texts, anchor_keys, anchor_ids, np.array(row_anchor, dtype=np.int64),
                   np.array(row_positive, dtype=np.int64), pair_index, np.array(pair_anchor, dtype=np.int64),
                   np.array(pair_text, dtype=np.int64), np.array(pair_score, dtype=np.float32), anchor_negatives,
                   np.array(anchor_lowest, dtype=np.float32))

"""Mine's first pass: the pairs' anchors and positives with their embeddings, and the candidates
(the unique positives, then the rows of any --corpus tables, deduplicated by id)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cltool.dataset.columns import (
    ANCHOR,
    ANCHOR_ID,
    CORPUS_ID,
    CORPUS_TEXT,
    EMPTY_TEXT,
    INVALID_EMBEDDING,
    POSITIVE,
    POSITIVE_ID,
    embedding_column,
)
from cltool.dataset.pairs import (
    blank_mask,
    comparable_info,
    embedding_matrix,
    given_or_derived,
    ids_and_match_keys,
    require_comparable,
    require_text_columns,
)
from cltool.dataset.read import Dataset
from cltool.dataset.texts import TextTable
from cltool.errors import InputError
from cltool.ingest.canonical import CORPUS_ALIASES
from cltool.mine.select import Positives

LOAD_ROWS = 16_384  # rows decoded at once while loading: their vectors are copied, so keep the copies small


@dataclass
class Pairs:
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
class Candidates(TextTable):
    """The texts an anchor's negatives are chosen from (by id), with their vectors."""

    vectors: np.ndarray | None = None  # (capacity, dim); rows [:len(ids)] are used
    from_positives: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def add(self, cid: str, text: str, key: int, vector: np.ndarray | None = None) -> int:
        known = len(self)
        position = super().add(cid, text, key)
        if vector is not None and position == known:
            self.vectors[position] = vector
        return position


def _unit(values: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, in place (zero rows stay zero)."""
    values /= np.maximum(np.linalg.norm(values, axis=1, keepdims=True), 1e-12)
    return values


def _require_embedded(dataset: Dataset, text_columns: Sequence[str], hint: str) -> None:
    """The text columns, and beside each its embedding (a fixed-size list of floats)."""
    schema = dataset.schema
    require_text_columns(dataset.source, schema, text_columns, hint)
    for column in text_columns:
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


def _given(batch: pa.RecordBatch, column: str | None) -> list[str | None] | None:
    """The batch's ids in `column` as text (None: the input has no such column)."""
    return pc.cast(batch.column(column), pa.string()).to_pylist() if column else None


def load_pairs(dataset: Dataset, candidates_capacity: int) -> tuple[Pairs, Candidates]:
    hint = "mine reads anchor, positive and their embeddings: cltool ingest, then cltool embed"
    _require_embedded(dataset, (ANCHOR, POSITIVE), hint)
    schema = dataset.schema
    fields = [schema.field(embedding_column(ANCHOR)), schema.field(embedding_column(POSITIVE))]
    require_comparable(*(comparable_info(f) for f in fields), same_column=False,
                       where=f"{fields[0].name} and {fields[1].name} of {dataset.source}")
    dim = fields[0].type.list_size
    n = dataset.num_rows or 0
    ids = {c: c if c in schema.names else None for c in (ANCHOR_ID, POSITIVE_ID)}
    wanted = [ANCHOR, POSITIVE, *(c for c in ids.values() if c), *(f.name for f in fields)]

    # np.empty takes no memory until written: only the unique anchors and positives fill these.
    queries = np.empty((n, dim), dtype=np.float32)
    candidates = Candidates(vectors=np.empty((candidates_capacity, dim), dtype=np.float32))
    anchor_index: dict[int, int] = {}
    anchor_keys, anchor_texts, anchor_ids = [], [], []
    row_anchor = np.full(n, -1, dtype=np.int64)
    row_positive = np.full(n, -1, dtype=np.int64)
    row_positive_key = np.zeros(n, dtype=np.uint64)
    row_score = np.full(n, np.nan, dtype=np.float32)
    row_reason = np.full(n, "", dtype=object)
    row = 0
    for batch in dataset.batches(columns=wanted, batch_rows=LOAD_ROWS):
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
        a_ids = given_or_derived(_given(batch, ids[ANCHOR_ID]), a_texts, derived=a_ids)
        p_ids = given_or_derived(_given(batch, ids[POSITIVE_ID]), p_texts, derived=p_ids)
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
    pairs = Pairs(dataset, row_anchor, row_positive, row_positive_key, row_score, row_reason,
                   queries[:len(anchor_keys)], np.array(anchor_keys, dtype=np.uint64), anchor_texts, anchor_ids,
                   fields)
    return pairs, candidates


def corpus_columns(dataset: Dataset) -> tuple[str, str | None]:
    """A corpus table's embedded text column and its id column (None: ids derived from the text)."""
    names = dataset.schema.names
    text = next((c for c in CORPUS_ALIASES[CORPUS_TEXT] if c in names and embedding_column(c) in names), None)
    if text is None:
        raise InputError(f"the corpus {dataset.source} has no text column with an embedding; columns found: "
                         f"{', '.join(names)}",
                         hint=f"cltool ingest CORPUS --table corpus -o C && cltool embed C --columns text -o "
                              f"{dataset.source}")
    _require_embedded(dataset, (text,), "a corpus table has id, text and text_embedding")
    ident = next((c for c in CORPUS_ALIASES[CORPUS_ID] if c in names), None)
    return text, ident


def add_corpus(dataset: Dataset, candidates: Candidates) -> None:
    text_column, id_column = corpus_columns(dataset)
    vectors = embedding_column(text_column)
    for batch in dataset.batches(columns=[text_column, vectors, *([id_column] if id_column else [])],
                                 batch_rows=LOAD_ROWS):
        texts = batch.column(text_column)
        values, bad = embedding_matrix(batch.column(vectors))
        blank = blank_mask(texts)
        values = _unit(values)
        text_list = texts.to_pylist()
        derived, keys = ids_and_match_keys(text_list)
        given = given_or_derived(_given(batch, id_column), text_list, derived=derived)
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


def positives_by_anchor(pairs: Pairs) -> tuple[Positives, np.ndarray]:
    """Each anchor's positives (candidate indices and text keys) and its lowest positive score."""
    valid = pairs.row_anchor >= 0
    anchor = pairs.row_anchor[valid]
    order = np.argsort(anchor, kind="stable")
    offsets = np.zeros(len(pairs.anchor_keys) + 1, dtype=np.int64)
    np.cumsum(np.bincount(anchor, minlength=len(pairs.anchor_keys)), out=offsets[1:])
    lowest = np.full(len(pairs.anchor_keys), np.inf, dtype=np.float32)
    np.minimum.at(lowest, anchor, pairs.row_score[valid])
    return (Positives(offsets, pairs.row_positive[valid][order].astype(np.int64),
                      pairs.row_positive_key[valid][order].astype(np.uint64)), lowest)

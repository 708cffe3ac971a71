"""The vectors the pair judges score with: the input's own embedding columns (the model it was mined
with, as `cltool embed` wrote them) unless a judge names a model, which then embeds the anchors and
positives through the embedding cache (as the bi-encoder judge does)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cltool.dataset.columns import ANCHOR, POSITIVE, embedding_column
from cltool.dataset.pairs import comparable_info, embedding_info, embedding_matrix, require_comparable
from cltool.dataset.read import Dataset
from cltool.dedup.semantic import unit_rows
from cltool.errors import UsageError
from cltool.filter.judges import Work
from cltool.filter.pair_judges.base import PairVectors

READ_ROWS = 65_536
INPUT = ""  # the model of a judge without one: the input's embedding columns


def input_vectors(dataset: Dataset, work: Work, row_anchor: np.ndarray, row_positive: np.ndarray) -> PairVectors:
    """The input's anchor and positive embeddings, by anchor and by text (first row of each wins:
    rows of one anchor hold the same text, so the same vector)."""
    columns = [embedding_column(ANCHOR), embedding_column(POSITIVE)]
    missing = [c for c in columns if c not in dataset.schema.names]
    if missing:
        raise UsageError(f"{dataset.source} has no {' or '.join(missing)} column for the pair judges to score with",
                         hint="embed the pairs before mining (cltool embed), or name a model: "
                              "--pair-judge consistency:MODEL")
    fields = [dataset.schema.field(c) for c in columns]  # a pair judge scores anchors against positives
    require_comparable(*(comparable_info(f) for f in fields), same_column=False,
                       where=f"{columns[0]} and {columns[1]} of {dataset.source}")
    info = embedding_info(fields[0]) or {}
    dimension = dataset.schema.field(columns[0]).type.list_size
    anchors = np.zeros((len(work.anchor_texts), dimension), dtype=np.float32)
    texts = np.zeros((len(work.texts), dimension), dtype=np.float32)
    row = 0
    for batch in dataset.batches(columns=columns, batch_rows=READ_ROWS):
        a, _ = embedding_matrix(batch.column(columns[0]))
        p, _ = embedding_matrix(batch.column(columns[1]))
        rows = slice(row, row + batch.num_rows)
        judged = row_anchor[rows] >= 0
        anchors[row_anchor[rows][judged]] = a[judged]
        texts[row_positive[rows][judged]] = p[judged]
        row += batch.num_rows
    model = {k: info[k] for k in ("model", "model_fingerprint") if k in info}
    return PairVectors(unit_rows(anchors), unit_rows(texts), {"from": "the input's embedding columns", **model})


def model_vectors(model: str, work: Work, row_anchor: np.ndarray, row_positive: np.ndarray, device: str,
                  batch_size: int, cache_dir: Path) -> PairVectors:
    """The anchors and positives embedded with `model`, through the embedding cache."""
    from cltool.embed.embedder import query_and_document_vectors

    spec, embedder, queries, documents = query_and_document_vectors(model, device, batch_size, cache_dir)
    judged = row_anchor >= 0
    anchor_ids = np.unique(row_anchor[judged])
    text_ids = np.unique(row_positive[judged])
    found_anchors = queries.of(work.anchor_texts, anchor_ids.tolist())
    found_texts = documents.of(work.texts, text_ids.tolist())
    anchors = np.zeros((len(work.anchor_texts), found_anchors.shape[1]), dtype=np.float32)
    texts = np.zeros((len(work.texts), found_texts.shape[1]), dtype=np.float32)
    anchors[anchor_ids] = found_anchors
    texts[text_ids] = found_texts
    return PairVectors(unit_rows(anchors), unit_rows(texts), {**spec.describe(), "embedding_cache": {
        "cache_hits": embedder.cache_hits, "encoded": embedder.encoded}})

"""The deciding columns of the input (and of the reference), read once into memory: the texts of
`--on`, their ids, and for the methods that compare vectors, their embeddings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cltool.dataset.columns import CORPUS_ID, CORPUS_TEXT, POSITIVE, embedding_column
from cltool.dataset.pairs import (
    blank_mask,
    comparable_info,
    embedding_matrix,
    given_or_derived,
    require_comparable,
    require_text_columns,
)
from cltool.dataset.read import Dataset, release_memory
from cltool.errors import InputError
from cltool.progress import Reporter


@dataclass
class DecidingColumns:
    """The deciding columns of one dataset, in memory: texts, given ids and embeddings."""

    dataset: Dataset
    texts: list[pa.Array]
    given_ids: list[pa.Array | None]  # per deciding column: the user's id column, if there is one
    embeddings: np.ndarray | None = None
    embedding_fields: list[pa.Field] = field(default_factory=list)
    bad_vectors: np.ndarray | None = None  # rows whose embedding is null or not finite (their vector is 0)

    def __len__(self) -> int:
        return len(self.texts[0])

    def ids_of(self, rows: np.ndarray) -> list[str]:
        """The rows' ids in the user's terms (`given_or_derived`), for duplicate_of: one part per
        deciding column, joined by "|". One take per column for all the rows, not a scalar each."""
        index = pa.array(np.asarray(rows, dtype=np.int64))
        parts = [given_or_derived(ids.take(index).to_pylist() if ids is not None else None,
                                  text.take(index).to_pylist())
                 for ids, text in zip(self.given_ids, self.texts)]
        return ["|".join(part or "" for part in row) for row in zip(*parts)]

    def blank_masks(self) -> list[np.ndarray]:
        """Per deciding column, where its text is null or blank."""
        return [blank_mask(t) for t in self.texts]

    def blank(self) -> np.ndarray:
        """Rows with a null or blank deciding text: never anyone's duplicate."""
        return np.logical_or.reduce(self.blank_masks())


def default_on(schema: pa.Schema) -> tuple[str, ...]:
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


# texts encoded at a time by a model that goes without the cache (the static one)
_ENCODE_ROWS = 16_384
# Rows read at a time: each batch's decoded vectors and their float32 copy are transient, so
# smaller batches keep the load's peak near the matrix's own size.
_LOAD_BATCH_ROWS = 16_384


class ModelVectors:
    """`--model`: the deciding columns embedded here, through the embedding cache as `cltool embed`
    would embed them (normalised, the model's sequence length, an anchor column with the query
    prompt and any other with the document prompt), instead of read from embedding columns."""

    def __init__(self, model: str, cache_dir: Path, reporter: Reporter):
        from cltool.embed.embedder import query_and_document_vectors

        self.spec, self.embedder, *_ = query_and_document_vectors(model, "cpu", 32, cache_dir, reporter)
        self.cache_dir = cache_dir

    def __call__(self, column: str, texts: list[str]) -> np.ndarray:
        from cltool.embed.cache import EmbeddingCache
        from cltool.embed.columns import QUERY_COLUMNS

        prompt = self.spec.prompts.get("query" if column in QUERY_COLUMNS else "document")
        if self.spec.encodes_faster_than_the_cache:
            return self.embedder.encode_every(texts, prompt, _ENCODE_ROWS)
        cache = EmbeddingCache(self.cache_dir, self.embedder.reporter)
        self.embedder.cache = cache
        try:
            return self.embedder(texts, prompt)
        finally:
            self.embedder.cache = None
            cache.close()

    def describe(self) -> dict[str, Any]:
        e = self.embedder
        return {**self.spec.describe(), "dimension": e.dimension, "texts": e.texts, "cache_hits": e.cache_hits,
                "encoded": e.encoded, "encode_seconds": round(e.encode_seconds, 3),
                "load_seconds": round(e.load_seconds, 3)}


def load(dataset: Dataset, on: Sequence[str], embeddings: bool, model: ModelVectors | None = None) -> DecidingColumns:
    """The deciding columns; with `embeddings`, their vectors too: read from the embedding columns,
    or, given a `model`, embedded here."""
    schema = dataset.schema
    require_text_columns(dataset.source, schema, on, hint="choose the deciding (text) columns with --on")
    if embeddings and model is not None:
        return _embedded_here(dataset, on, model)
    vector_columns = [embedding_column(c) for c in on] if embeddings else []
    missing = [c for c in vector_columns if c not in schema.names]
    if missing:
        raise InputError(f"semantic dedup needs {', '.join(missing)}, which {dataset.source} does not have; "
                         f"columns found: {', '.join(schema.names)}",
                         hint=f"add it first (cltool embed {dataset.source} --columns {','.join(on)} -o EMBEDDED), "
                              "or embed here with --model static (or another model)")
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
    for batch in dataset.batches(columns=wanted + vector_columns, batch_rows=_LOAD_BATCH_ROWS):
        for c in wanted:
            parts[c].append(batch.column(c))
        col = 0
        for c, dim in zip(vector_columns, dims):
            values, invalid = embedding_matrix(batch.column(c))  # a fresh copy: scaled in place
            values /= np.maximum(np.linalg.norm(values, axis=1, keepdims=True), 1e-12) * np.sqrt(len(dims))
            values[invalid] = 0.0
            matrix[row:row + batch.num_rows, col:col + dim] = values
            bad[row:row + batch.num_rows] |= invalid
            col += dim
        row += batch.num_rows
    columns = {c: pa.concat_arrays(v) if v else pa.array([], schema.field(c).type) for c, v in parts.items()}
    texts = [pc.cast(columns[c], pa.string()) for c in on]
    given_ids = [pc.cast(columns[i], pa.string()) if i else None for i in id_columns]
    del parts, columns
    release_memory()
    return DecidingColumns(dataset, texts, given_ids, matrix, [schema.field(c) for c in vector_columns], bad)


def _embedded_here(dataset: Dataset, on: Sequence[str], model: ModelVectors) -> DecidingColumns:
    """The deciding columns read, then embedded by `model`; several side by side, each scaled by
    1/sqrt(k), as `load` places embedding columns. A null text is embedded as "" (it goes as blank)."""
    rows = load(dataset, on, False)
    parts = []
    for column, texts in zip(on, rows.texts):
        values = np.asarray(model(column, [t if t is not None else "" for t in texts.to_pylist()]), dtype=np.float32)
        if not len(values):  # an empty dataset: no row, the model's width
            values = np.zeros((0, model.embedder.load().dimension), dtype=np.float32)
        values /= np.maximum(np.linalg.norm(values, axis=1, keepdims=True), 1e-12) * np.sqrt(len(on))
        parts.append(values)
    rows.embeddings = np.ascontiguousarray(parts[0] if len(parts) == 1 else np.hstack(parts))
    del parts
    # a blank text has no direction to compare (embed rejects it): a reference's must match nothing
    rows.embeddings[rows.blank()] = 0.0
    rows.bad_vectors = ~np.isfinite(rows.embeddings).all(axis=1) | ~rows.embeddings.any(axis=1)
    rows.embeddings[rows.bad_vectors] = 0.0
    return rows


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


def load_reference(reference: Dataset, rows: DecidingColumns, on: Sequence[str], embeddings: bool,
                   model: ModelVectors | None = None) -> DecidingColumns:
    """The `--against` dataset's deciding columns; with embeddings, from the same model as the input's
    (with `model`, embedded here by it, as the input's are)."""
    loaded = load(reference, _reference_columns(reference, on), embeddings, model)
    for ours, theirs in zip(rows.embedding_fields, loaded.embedding_fields):
        require_comparable(comparable_info(ours), comparable_info(theirs), same_column=False,
                           where=f"{ours.name} of {rows.dataset.source} and {theirs.name} of the reference "
                                 f"{reference.source}")
    return loaded

"""`cltool embed`: a `<column>_embedding` column for each chosen text column.

The input is streamed in chunks of rows; within a chunk every distinct (prompt, text) is looked up
in the embedding cache, and only the misses go to the model, in one `encode` call per chunk and
column, which sorts them by length into batches. So memory is bounded by the chunk, not the
dataset; a text repeated across the run is embedded once; a re-run embeds nothing.

Each embedding column carries, in its Arrow field metadata, the model, its weight fingerprint,
the prompt and normalisation: they travel with the data through files and pipes, and the manifest
records the same, so later steps can refuse embeddings from different models.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import IO, Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cltool.dataset.pairs import (
    ANCHOR,
    CORPUS_TEXT,
    EMPTY_TEXT,
    FIELD_METADATA_KEY,
    POSITIVE,
    blank_mask,
    embedding_column,
    embedding_info,
    is_text_list_type,
    is_text_type,
)
from cltool.dataset.read import open_dataset
from cltool.dataset.write import Output, with_rejection
from cltool.embed.cache import EmbeddingCache, default_cache_dir, space_key, text_keys
from cltool.embed.model import Encoder, ModelSpec, resolve_model, torch_threads
from cltool.errors import InputError, UsageError
from cltool.progress import NullReporter, Reporter

PRECISIONS = {"float32": pa.float32(), "float16": pa.float16()}
QUERY_COLUMNS = (ANCHOR,)  # embedded with the query prompt; every other column with the document prompt
__all__ = ["embed", "embedding_column", "embedding_info"]
DEFAULT_CHUNK_ROWS = 8_192
ENCODE_SLICE = 1_024  # texts per encode call: progress moves, and a killed run keeps what it embedded


def _default_columns(schema: pa.Schema) -> list[str]:
    if ANCHOR in schema.names or POSITIVE in schema.names:
        return [c for c in (ANCHOR, POSITIVE) if c in schema.names]
    if CORPUS_TEXT in schema.names:
        return [CORPUS_TEXT]
    raise InputError(f"no column to embed: columns found: {', '.join(schema.names)}",
                     hint="name them with --columns, e.g. --columns question,answer")


def _check_columns(schema: pa.Schema, columns: Sequence[str], source: str) -> None:
    for column in columns:
        if column not in schema.names:
            raise InputError(f"{source} has no column {column!r}; columns found: {', '.join(schema.names)}",
                             hint="choose columns with --columns")
        found = schema.field(column).type
        if not (is_text_type(found) or is_text_list_type(found)):
            raise InputError(f"column {column!r} of {source} is {found}, not text",
                             hint="embed only text columns (or lists of texts); choose them with --columns")


class _Embedder:
    """Texts -> float32 vectors through the cache; the model is loaded at the first miss."""

    def __init__(self, spec: ModelSpec, cache: EmbeddingCache | None, load, normalize: bool, max_seq_length):
        self.spec, self.cache, self._load = spec, cache, load
        self.normalize, self.max_seq_length = normalize, max_seq_length
        self.encoder: Encoder | None = None
        self.dimension: int | None = None
        self.texts = self.unique = self.cache_hits = self.encoded = 0
        self.encode_seconds = 0.0
        self.on_encoded = lambda n: None

    @property
    def threads(self) -> int | None:
        """torch's threads in this process, once the model is loaded (a static model has none)."""
        return getattr(self.encoder, "threads", None)

    def __call__(self, texts: list[str], prompt: str | None) -> np.ndarray:
        space = space_key(self.spec.fingerprint, prompt or "", self.normalize, self.max_seq_length)
        keys = text_keys(space, texts)
        first_of: dict[bytes, int] = {}
        for i, key in enumerate(keys):
            first_of.setdefault(key, i)
        unique_keys = list(first_of)
        found = self.cache.get(unique_keys) if self.cache is not None else {}
        missing = [k for k in unique_keys if k not in found]
        if missing:
            if self.encoder is None:
                self.encoder = self._load()
            missing.sort(key=lambda k: len(texts[first_of[k]]))  # length-sorted, so batches carry little padding
            for start in range(0, len(missing), ENCODE_SLICE):
                part = missing[start:start + ENCODE_SLICE]
                began = time.perf_counter()
                vectors = self.encoder.encode([texts[first_of[k]] for k in part], prompt)
                self.encode_seconds += time.perf_counter() - began
                found.update(zip(part, vectors))
                if self.cache is not None:
                    self.cache.put(part, vectors)
                self.on_encoded(len(part))
        self.texts += len(texts)
        self.unique += len(unique_keys)
        self.cache_hits += len(unique_keys) - len(missing)
        self.encoded += len(missing)
        if not keys:
            return np.zeros((0, self.dimension or 0), dtype=np.float32)
        out = np.stack([found[k] for k in keys]).astype(np.float32, copy=False)
        if self.dimension is None:
            self.dimension = out.shape[1]
        elif out.shape[1] != self.dimension:
            raise InputError(f"the embedding cache holds vectors of {out.shape[1]} dimensions for a "
                             f"{self.dimension}-dimensional model", hint="run with --no-cache, or clear CLTOOL_CACHE_DIR")
        return out


class _RowProgress:
    """Moves a task counted in rows as the chunk's texts are encoded: one chunk can take minutes."""

    def __init__(self, task, rows: int, texts: int):
        self.task, self.rows, self.per_text, self.moved = task, rows, rows / max(texts, 1), 0.0

    def __call__(self, texts: int) -> None:
        self.moved += texts * self.per_text
        self.task.advance(texts * self.per_text)

    def finish(self) -> None:
        self.task.advance(self.rows - self.moved)


def _count_texts(table: pa.Table, columns: Sequence[str]) -> int:
    return sum(len(pc.list_flatten(table.column(c))) if is_text_list_type(table.schema.field(c).type)
               else table.num_rows for c in columns)


def _blank_rows(table: pa.Table, columns: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Rows where a chosen text column is null or blank (lists: null, empty, or holding a blank text)."""
    bad = np.zeros(table.num_rows, dtype=bool)
    which: list[list[str]] = [[] for _ in range(table.num_rows)]
    for column in columns:
        values = table.column(column)
        if is_text_list_type(values.type):
            parents = pc.list_parent_indices(values).to_numpy()
            blank = np.zeros(table.num_rows, dtype=bool)
            blank[parents[blank_mask(pc.list_flatten(values))]] = True
            blank |= pc.is_null(values).to_numpy(zero_copy_only=False)
        else:
            blank = blank_mask(values)
        for i in np.nonzero(blank)[0]:
            which[i].append(column)
        bad |= blank
    return bad, [", ".join(which[i]) + " is null or blank" for i in np.nonzero(bad)[0]]


def _vectors_to_arrow(vectors: np.ndarray, dtype: pa.DataType, dimension: int) -> pa.FixedSizeListArray:
    numpy_type = np.float16 if dtype == pa.float16() else np.float32
    values = pa.array(np.ascontiguousarray(vectors, dtype=numpy_type).reshape(-1), type=dtype)
    return pa.FixedSizeListArray.from_arrays(values, dimension)


def embed(
    input: str,
    output: str,
    *,
    columns: Sequence[str] | None = None,
    model: str | None = None,
    batch_size: int = 32,
    device: str = "cpu",
    precision: str = "float32",
    query_prompt: str | None = None,
    document_prompt: str | None = None,
    normalize: bool = True,
    max_seq_length: int | None = None,
    cache: bool = True,
    cache_dir: str | Path | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    engine: str | None = None,
    ray_address: str | None = None,
    rejected_output: str | None = None,
    argv: Sequence[str] | None = None,
    reporter: Reporter | None = None,
    stdin: IO[bytes] | None = None,
    stdout: IO[bytes] | None = None,
) -> dict[str, Any]:
    """Embed the chosen text columns of `input` into `output`; return the manifest."""
    reporter = reporter or NullReporter()
    if precision not in PRECISIONS:
        raise UsageError(f"--precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if batch_size < 1 or chunk_rows < 1:
        raise UsageError("--batch-size must be at least 1")
    if max_seq_length is not None and max_seq_length < 1:
        raise UsageError("--max-seq-length must be at least 1")
    from cltool.engine import resolve

    engine = resolve(engine)
    torch_threads()  # a bad CLTOOL_THREADS is a usage error up front, even when the cache holds every text
    dataset = open_dataset(input, stdin=stdin)
    columns = list(columns) if columns else _default_columns(dataset.schema)
    _check_columns(dataset.schema, columns, dataset.source)
    if dataset.num_rows == 0:
        raise InputError(f"{dataset.source} is empty: it has no rows", hint="check that the right input was given")

    cache_path = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    spec = resolve_model(model, cache_path)
    prompts = {c: (query_prompt if query_prompt is not None else spec.prompts.get("query")) if c in QUERY_COLUMNS
               else (document_prompt if document_prompt is not None else spec.prompts.get("document"))
               for c in columns}
    seq_length = max_seq_length if max_seq_length is not None else spec.max_seq_length
    embedding_cache = EmbeddingCache(cache_path) if cache and engine == "local" else None  # a file on this machine
    dtype = PRECISIONS[precision]
    params = {**spec.describe(), "columns": columns, "precision": precision, "normalize": normalize,
              "prompts": {c: p for c, p in prompts.items()}, "max_seq_length": seq_length, "batch_size": batch_size,
              "device": device, "cache": str(embedding_cache.path) if embedding_cache else None, "engine": engine}
    if engine == "ray":
        return _embed_on_ray(dataset, output, columns, prompts, spec, params, chunk_rows, batch_size, device,
                             max_seq_length, normalize, seq_length, dtype, precision, ray_address, rejected_output,
                             argv, reporter, stdout)

    embedder = _Embedder(spec, embedding_cache, lambda: spec.load(device, batch_size, max_seq_length, normalize),
                         normalize, seq_length)
    try:
        with Output(output, command="embed", params=params, inputs=[dataset], argv=argv,
                    rejected_target=rejected_output, stdout=stdout) as out:
            with reporter.task(f"embed {', '.join(columns)}", total=dataset.num_rows) as task:
                for rows, table in _chunks(out, dataset, columns, chunk_rows):
                    progress = _RowProgress(task, rows, _count_texts(table, columns))
                    embedder.on_encoded = progress
                    with out.stage("embed"):
                        table = _embed_table(table, columns, prompts, embedder, dtype, spec, normalize, precision)
                    with out.stage("write"):
                        out.write(table)
                    progress.finish()
            out.params["dimension"] = embedder.dimension
            out.summary.update({"texts": embedder.texts, "unique_texts": embedder.unique,
                                "cache_hits": embedder.cache_hits, "encoded": embedder.encoded,
                                "encode_seconds": round(embedder.encode_seconds, 3),
                                "texts_per_second": round(embedder.encoded / embedder.encode_seconds, 1)
                                if embedder.encode_seconds else None, "torch_threads": embedder.threads})
    finally:
        if embedding_cache is not None:
            embedding_cache.close()
    return out.manifest


def _chunks(out: Output, dataset, columns: Sequence[str], chunk_rows: int):
    """The input in chunks of rows, counted in; rows with a blank text go to the rejected rows.
    Yields (rows read, the chunk to embed): the local loop and the Ray actors embed the same chunks."""
    for batch in out.timed("read", dataset.batches(batch_rows=chunk_rows)):
        table = pa.Table.from_batches([batch])
        out.count_input(table.num_rows)
        bad, details = _blank_rows(table, columns)
        if bad.any():
            out.reject(with_rejection(table.filter(pa.array(bad)), reason=[EMPTY_TEXT] * len(details),
                                      detail=details))
            table = table.filter(pa.array(~bad))
        yield batch.num_rows, table


def _embed_on_ray(dataset, output, columns, prompts, spec, params, chunk_rows, batch_size, device, max_seq_length,
                  normalize, seq_length, dtype, precision, address, rejected_output, argv, reporter, stdout):
    """The same chunks as the local loop, embedded by a Ray actor pool (cltool.embed.ray_embed)."""
    from collections import Counter, deque

    from cltool.embed.ray_embed import embed_chunks

    stats: Counter = Counter()
    rows_read: deque[int] = deque()  # per chunk in flight, for the progress bar (it counts rows read)
    with Output(output, command="embed", params=params, inputs=[dataset], argv=argv,
                rejected_target=rejected_output, stdout=stdout) as out:
        chunks = (rows_read.append(rows) or table for rows, table in _chunks(out, dataset, columns, chunk_rows))
        with reporter.task(f"embed {', '.join(columns)} (ray)", total=dataset.num_rows) as task:
            expected = -(-dataset.num_rows // chunk_rows) if dataset.num_rows else None
            embedded = embed_chunks(chunks, stats, address=address, expected_chunks=expected,
                                    device=device, spec=spec, batch_size=batch_size, max_seq_length=max_seq_length,
                                    normalize=normalize, seq_length=seq_length, columns=columns, prompts=prompts,
                                    dtype=dtype, precision=precision)
            for table in out.timed("embed", embedded):
                with out.stage("write"):
                    out.write(table)
                task.advance(rows_read.popleft())
        out.params["dimension"] = stats.get("dimension")
        out.summary.update({"texts": stats["texts"], "unique_texts": stats["unique"], "cache_hits": 0,
                            "encoded": stats["encoded"], "encode_seconds": round(stats["encode_seconds"], 3),
                            "texts_per_second": round(stats["encoded"] / stats["encode_seconds"], 1)
                            if stats["encode_seconds"] else None, "torch_threads": stats.get("threads")})
    return out.manifest


def _embed_table(table: pa.Table, columns: Sequence[str], prompts: dict[str, str | None], embedder: _Embedder,
                 dtype: pa.DataType, spec: ModelSpec, normalize: bool, precision: str) -> pa.Table:
    for column in columns:
        values = table.column(column).combine_chunks()
        is_list = is_text_list_type(values.type)
        texts = (pc.list_flatten(values) if is_list else values).to_pylist()
        vectors = embedder(texts, prompts[column])
        dimension = embedder.dimension or vectors.shape[1]
        if not len(texts) and embedder.dimension is None:
            dimension = _probe_dimension(embedder, prompts[column])
        array = _vectors_to_arrow(vectors.reshape(-1, dimension), dtype, dimension)
        if is_list:
            offsets = pc.subtract(values.offsets, values.offsets[0])
            array = pa.ListArray.from_arrays(offsets, array)
        info = {**spec.describe(), "dimension": dimension, "normalize": normalize, "prompt": prompts[column],
                "precision": precision, "source_column": column}
        field = pa.field(embedding_column(column), array.type, metadata={FIELD_METADATA_KEY: json.dumps(info)})
        name = embedding_column(column)
        if name in table.schema.names:  # re-embedding replaces the old column
            table = table.set_column(table.schema.get_field_index(name), field, array)
        else:
            table = table.append_column(field, array)
    return table


def _probe_dimension(embedder: _Embedder, prompt: str | None) -> int:
    """An all-empty first chunk still needs the column's type: embed one throwaway text."""
    return embedder(["dimension probe"], prompt).shape[1]

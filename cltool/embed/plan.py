"""What a run embeds and how, decided once from the settings and the model: the columns and their
prompts, the sequence length the cache key records, the stored type. The local loop and every Ray
actor embed a chunk of rows with the same `Plan.embed_table`, so they write the same columns."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cltool.dataset.columns import FIELD_METADATA_KEY, embedding_column
from cltool.dataset.pairs import is_text_list_type
from cltool.embed.cache import EmbeddingCache
from cltool.embed.columns import QUERY_COLUMNS
from cltool.embed.embedder import Embedder
from cltool.embed.model import ModelSpec, resolve_model
from cltool.embed.settings import PRECISIONS, Settings
from cltool.errors import UsageError
from cltool.progress import Reporter


@dataclass
class Plan:
    settings: Settings
    spec: ModelSpec
    columns: list[str]
    prompts: dict[str, str | None]  # per column
    seq_length: int | None  # --max-seq-length, else the model's: part of the cache key
    backend: dict[str, Any]  # what runs the model, and why (cltool.embed.backend.choose)

    @classmethod
    def of(cls, settings: Settings, columns: list[str], cache_dir: Path, reporter: Reporter | None = None) -> Plan:
        """Resolves the model (its files only: nothing is loaded, but a static model is distilled and an
        OpenVINO one converted on first use)."""
        from cltool.embed.backend import choose

        spec, backend = choose(resolve_model(settings.model, cache_dir, reporter), settings.backend,
                               settings.device, settings.max_seq_length, cache_dir, reporter)
        query = settings.query_prompt if settings.query_prompt is not None else spec.prompts.get("query")
        document = settings.document_prompt if settings.document_prompt is not None else spec.prompts.get("document")
        prompts = {c: query if c in QUERY_COLUMNS else document for c in columns}
        seq_length = settings.max_seq_length if settings.max_seq_length is not None else spec.max_seq_length
        if settings.max_seq_length is not None and spec.max_positions and settings.max_seq_length > spec.max_positions:
            raise UsageError(f"--max-seq-length {settings.max_seq_length:,} is longer than {spec.model_id} can read "
                             f"({spec.max_positions} tokens)", hint=f"give at most {spec.max_positions}")
        return cls(settings, spec, columns, prompts, seq_length, backend)

    @property
    def dtype(self) -> pa.DataType:
        return PRECISIONS[self.settings.precision]

    def params(self, cache: EmbeddingCache | None) -> dict[str, Any]:
        s = self.settings
        return {**self.spec.describe(), "columns": self.columns, "precision": s.precision, "normalize": s.normalize,
                "prompts": dict(self.prompts), "max_seq_length": self.seq_length, "batch_size": s.batch_size,
                "device": s.device, "cache": str(cache.path) if cache else (
                    "not used: a static model encodes faster than the cache reads"
                    if s.cache and self.spec.encodes_faster_than_the_cache else None), "engine": s.engine,
                "backend": self.backend}

    def embedder(self, cache: EmbeddingCache | None, device: str | None = None,
                 threads: int | None = None, reporter: Reporter | None = None) -> Embedder:
        """An embedder that loads the model (on `device`, default --device) at its first miss."""
        s, spec = self.settings, self.spec
        device = device or s.device
        return Embedder(spec, cache, lambda: spec.load(device, s.batch_size, s.max_seq_length, s.normalize, threads),
                        s.normalize, self.seq_length, reporter=reporter, batch_size=s.batch_size)

    def embed_table(self, table: pa.Table, embedder: Embedder) -> pa.Table:
        """`table` with an embedding column for each chosen column (replacing one already there)."""
        for column in self.columns:
            values = table.column(column).combine_chunks()
            is_list = is_text_list_type(values.type)
            texts = (pc.list_flatten(values) if is_list else values).to_pylist()
            vectors = embedder(texts, self.prompts[column])
            dimension = embedder.dimension or vectors.shape[1]
            if not len(texts) and embedder.dimension is None:
                dimension = _probe_dimension(embedder, self.prompts[column])
            array = _vectors_to_arrow(vectors.reshape(-1, dimension), self.dtype, dimension)
            if is_list:
                offsets = pc.subtract(values.offsets, values.offsets[0])
                array = pa.ListArray.from_arrays(offsets, array)
            info = {**self.spec.describe(), "dimension": dimension, "normalize": self.settings.normalize,
                    "prompt": self.prompts[column], "precision": self.settings.precision, "source_column": column,
                    "backend": self.backend["name"]}
            name = embedding_column(column)
            field = pa.field(name, array.type, metadata={FIELD_METADATA_KEY: json.dumps(info)})
            if name in table.schema.names:  # re-embedding replaces the old column
                table = table.set_column(table.schema.get_field_index(name), field, array)
            else:
                table = table.append_column(field, array)
        return table


def _vectors_to_arrow(vectors: np.ndarray, dtype: pa.DataType, dimension: int) -> pa.FixedSizeListArray:
    numpy_type = np.float16 if dtype == pa.float16() else np.float32
    values = pa.array(np.ascontiguousarray(vectors, dtype=numpy_type).reshape(-1), type=dtype)
    return pa.FixedSizeListArray.from_arrays(values, dimension)


def _probe_dimension(embedder: Embedder, prompt: str | None) -> int:
    """An all-empty first chunk still needs the column's type: embed one throwaway text."""
    return embedder(["dimension probe"], prompt).shape[1]

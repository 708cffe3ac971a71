"""What `cltool embed` is asked to do: which columns, which model and how it runs, how vectors are stored."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from cltool.errors import UsageError

PRECISIONS = {"float32": pa.float32(), "float16": pa.float16()}
DEFAULT_CHUNK_ROWS = 8_192
MAX_BATCH = 8192  # texts in one forward pass, on any device
# on the CPU a larger batch only pads more (texts of one batch take its longest length): 256 already
# took 1.8x the time and 1.9x the memory of 32 on 400 real pairs, 4096 took 2.3x and 2.5x
MAX_CPU_BATCH = 256


@dataclass
class Settings:
    columns: Sequence[str] | None = None  # default: anchor and positive, or text for a corpus
    model: str | None = None  # default: CLTOOL_MODEL, else the bundled all-MiniLM-L6-v2
    # auto, torch or openvino (default: CLTOOL_BACKEND, else auto: the fastest faithful, cltool.embed.backend)
    backend: str | None = None
    batch_size: int = 32
    device: str = "cpu"
    precision: str = "float32"  # of the stored vectors; the model runs in float32
    query_prompt: str | None = None  # default: the model's "query" prompt (for the anchor)
    document_prompt: str | None = None  # default: the model's "document" prompt (every other column)
    normalize: bool = True
    max_seq_length: int | None = None  # default: the model's
    cache: bool = True
    cache_dir: str | Path | None = None  # default: CLTOOL_CACHE_DIR, else ~/.cache/cltool
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    engine: str | None = None  # local or ray (default: CLTOOL_ENGINE, else local)
    ray_address: str | None = None

    def check(self) -> None:
        from cltool.embed.model import torch_threads
        from cltool.embed.backend import refuse_static, resolve_backend
        from cltool.engine import resolve

        if self.precision not in PRECISIONS:
            raise UsageError(f"--precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}")
        if self.batch_size < 1:
            raise UsageError("--batch-size must be at least 1")
        if self.chunk_rows < 1:
            raise UsageError(f"chunk_rows must be at least 1, not {self.chunk_rows}")
        if self.batch_size > MAX_BATCH:
            raise UsageError(f"--batch-size must be at most {MAX_BATCH:,}, not {self.batch_size:,}")
        if self.max_seq_length is not None and self.max_seq_length < 1:
            raise UsageError("--max-seq-length must be at least 1")
        self.engine = resolve(self.engine)
        self.backend = resolve_backend(self.backend)
        if self.backend == "openvino" and (self.model or "").partition(":")[0] == "static":
            refuse_static()  # before the static model is distilled
        torch_threads()  # a bad CLTOOL_THREADS is a usage error up front, even when the cache holds every text

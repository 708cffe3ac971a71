"""Emit's files, written so that a reader never sees half of them: each goes under a hidden temporary
name beside its own, and only when every one is complete do they all take their names, the
manifest last. A manifest found means every file it lists is whole."""

from __future__ import annotations

import gzip
import json
import os
import sys
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from cltool.dataset.manifest import file_sha256
from cltool.emit.paths import output_extension


def _temporary(path: Path) -> Path:
    return path.parent / f".{path.name}.cltool-tmp-{os.getpid()}"


class StagedFiles:
    """Use as a context manager: `write` each file, then `commit` the manifest; on an error before
    the commit the temporary files are removed."""

    def __init__(self, stdout: IO[bytes] | None = None):
        self.outputs: list[dict[str, Any]] = []  # what the manifest lists, in the order written
        self._stdout = stdout
        self._staged: list[tuple[Path, Path]] = []  # (temporary, final)

    def __enter__(self) -> StagedFiles:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            for tmp, _ in self._staged:
                tmp.unlink(missing_ok=True)

    def write(self, table: pa.Table, path: Path | None, **about: Any) -> dict[str, Any]:
        """`table` to `path` (its extension picks the file type), or as JSONL to stdout for None. Its
        entry in the manifest's outputs: `about`, then where it went, its rows, bytes and sha256."""
        import polars as pl

        if path is None:
            stream = self._stdout if self._stdout is not None else sys.stdout.buffer
            pl.from_arrow(table).write_ndjson(stream)
            stream.flush()
            entry = {**about, "path": "-", "rows": table.num_rows}
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = _temporary(path)
            ext = output_extension(path.name)
            if ext == ".parquet":
                pq.write_table(table, tmp, compression="zstd")
            elif ext == ".jsonl.gz":
                with gzip.open(tmp, "wb", compresslevel=6) as f:
                    pl.from_arrow(table).write_ndjson(f)
            else:
                pl.from_arrow(table).write_ndjson(tmp)
            self._staged.append((tmp, path))
            entry = {**about, "path": str(path), "rows": table.num_rows, "bytes": tmp.stat().st_size,
                     "sha256": file_sha256(tmp)}
        self.outputs.append(entry)
        return entry

    def commit(self, manifest: dict[str, Any], path: Path | None) -> None:
        """Every file takes its name, then the manifest is written at `path` (None: not written)."""
        for tmp, final in self._staged:
            os.replace(tmp, final)
        self._staged = []
        if path is not None:
            tmp = _temporary(path)
            tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
            os.replace(tmp, path)

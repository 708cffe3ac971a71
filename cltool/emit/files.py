"""Emit's files, written so that a reader never sees half of them: each goes under a hidden temporary
name beside its own, and only when every one is complete do they all take their names, the
manifest last. A manifest found means every file it lists is whole.

Renaming several files is not one atomic act: before the first rename a journal lists them all, and
the next emit to the same place finishes the renames of a writer killed between two of them (every
file was complete by then), so the splits and the manifest end up together. Temporary files of a
killed writer are removed by the next emit."""

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
from cltool.dataset.write import clear_debris, dead_writer, temporary_path
from cltool.emit.paths import output_extension


class StagedFiles:
    """Use as a context manager: `write` each file, then `commit` the manifest; on an error before
    the commit the temporary files are removed."""

    def __init__(self, stdout: IO[bytes] | None = None, manifest: Path | None = None):
        self.outputs: list[dict[str, Any]] = []  # what the manifest lists, in the order written
        self._stdout = stdout
        self._staged: list[tuple[Path, Path]] = []  # (temporary, final)
        if manifest is not None:
            _finish_dead_commits(manifest)

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
            clear_debris(path)
            tmp = temporary_path(path)
            # staged before it exists: a stop (SIGINT, SIGTERM) while the writer has it half-written
            # must find it to remove
            self._staged.append((tmp, path))
            ext = output_extension(path.name)
            if ext == ".parquet":
                pq.write_table(table, tmp, compression="zstd")
            elif ext == ".jsonl.gz":
                with gzip.open(tmp, "wb", compresslevel=6) as f:
                    pl.from_arrow(table).write_ndjson(f)
            else:
                pl.from_arrow(table).write_ndjson(tmp)
            entry = {**about, "path": str(path), "rows": table.num_rows, "bytes": tmp.stat().st_size,
                     "sha256": file_sha256(tmp)}
        self.outputs.append(entry)
        return entry

    def commit(self, manifest: dict[str, Any], paths: list[Path] | Path | None) -> None:
        """Every file takes its name, then the manifest is written at each of `paths` (None or []: not
        written); the journal lies beside the first."""
        journal = None
        paths = [paths] if isinstance(paths, Path) else list(paths or [])
        text = json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n"
        for path in paths:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = temporary_path(path)
            self._staged.append((tmp, path))  # the manifests last
            tmp.write_text(text, encoding="utf-8")
        if paths:
            journal = _journal(paths[0])
            journal.write_text(json.dumps([[str(t), str(f)] for t, f in self._staged]), encoding="utf-8")
        for tmp, final in self._staged:
            os.replace(tmp, final)
        self._staged = []
        if journal is not None:
            journal.unlink()


def _journal(manifest: Path) -> Path:
    return manifest.parent / f".{manifest.name}.cltool-commit-{os.getpid()}"


def _finish_dead_commits(manifest: Path) -> None:
    """Finish the renames of an emit killed while committing (its files were complete), so its splits
    and manifest are together before this emit replaces them."""
    for journal in manifest.parent.glob(f".{manifest.name}.cltool-commit-*"):
        if not dead_writer(journal):
            continue
        try:
            pairs = json.loads(journal.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pairs = []  # a journal cut while being written: no rename had begun
        for tmp, final in pairs:
            if Path(tmp).exists():
                os.replace(tmp, final)
        journal.unlink(missing_ok=True)

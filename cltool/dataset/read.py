"""Find and read datasets: a dataset directory, a single Parquet file, a glob, or `-` (stdin).

Everything is read as a stream of Arrow record batches, one file at a time, so memory is bounded
by the batch size and not by the dataset. Problems that can be seen before any work starts
(missing path, unfinished directory, corrupt footer, schemas that differ between shards) are
raised by `open_dataset`; a page that turns out corrupt while streaming is raised by `batches`,
naming the file.
"""

from __future__ import annotations

import glob as globlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from cltool.dataset.manifest import file_sha256, manifest_path, read_manifest
from cltool.errors import InputError

DEFAULT_BATCH_ROWS = 65_536
# How a cltool Arrow stream marks itself (schema metadata) and its proper end (last batch's metadata).
STREAM_MARK = "cltool"
STREAM_END = {"cltool:end": "complete"}
_GLOB_CHARS = set("*?[")


@dataclass
class InputFile:
    path: Path
    rows: int
    bytes: int

    def describe(self) -> dict[str, Any]:
        return {"path": str(self.path), "rows": self.rows, "bytes": self.bytes, "sha256": file_sha256(self.path)}


@dataclass
class Dataset:
    """An input: its files (empty for stdin), the schema they share, and the manifest if it has one."""

    source: str
    schema: pa.Schema
    files: list[InputFile] = field(default_factory=list)
    manifest: dict[str, Any] | None = None
    _stream: pa.ipc.RecordBatchStreamReader | None = None
    _stream_rows: int = 0
    _stream_used: bool = False
    _table: pa.Table | None = None  # an in-memory input (a library caller's Arrow table)

    @property
    def is_stream(self) -> bool:
        return self._stream is not None

    @property
    def num_rows(self) -> int | None:
        """Rows in the dataset; for stdin, only known once it has been read."""
        if self._table is not None:
            return self._table.num_rows
        if self.is_stream:
            return self._stream_rows if self._stream_used else None
        return sum(f.rows for f in self.files)

    @property
    def column_names(self) -> list[str]:
        return list(self.schema.names)

    def batches(self, columns: list[str] | None = None, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        if columns is not None:
            missing = [c for c in columns if c not in self.schema.names]
            if missing:
                raise InputError(
                    f"{self.source} has no column {', '.join(map(repr, missing))}; "
                    f"columns found: {', '.join(self.schema.names)}"
                )
        if self._table is not None:
            table = self._table.select(columns) if columns is not None else self._table
            yield from table.to_batches(max_chunksize=batch_rows)
            return
        if self.is_stream:
            yield from self._stream_batches(columns)
            return
        for f in self.files:
            try:
                parquet = pq.ParquetFile(f.path)
                for batch in parquet.iter_batches(batch_size=batch_rows, columns=columns, use_threads=True):
                    yield batch
            except (pa.ArrowException, OSError) as exc:
                raise InputError(
                    f"{f.path} is corrupt or truncated: {exc}",
                    hint="re-create the file (re-run the step that wrote it)",
                ) from None

    def _stream_batches(self, columns: list[str] | None) -> Iterator[pa.RecordBatch]:
        if self._stream_used:
            raise InputError("stdin can be read only once", hint="write the data to a dataset directory with -o DIR")
        self._stream_used = True
        from_cltool = STREAM_MARK.encode() in (self._stream.schema.metadata or {})
        complete = False
        try:
            while True:
                try:
                    batch, metadata = self._stream.read_next_batch_with_custom_metadata()
                except StopIteration:
                    break
                complete = metadata is not None and metadata.get(b"cltool:end") == b"complete"
                batch = batch.replace_schema_metadata(None)
                self._stream_rows += batch.num_rows
                yield batch.select(columns) if columns is not None else batch
        except (pa.ArrowException, OSError) as exc:  # a stream cut inside a message is an OSError
            raise InputError(f"the Arrow stream on stdin broke off: {exc}",
                             hint="the command writing into the pipe failed; see its error above") from None
        if from_cltool and not complete:
            raise InputError("the Arrow stream on stdin ended before the cltool writing it had finished",
                             hint="the command before the | failed; see its error above")

    def describe_inputs(self) -> list[dict[str, Any]]:
        """What the manifest records of this input: each file with rows, bytes and sha256."""
        if self._table is not None:
            return [{"path": self.source, "rows": self._table.num_rows}]
        if self.is_stream:
            return [{"path": "-", "rows": self._stream_rows}]
        return [f.describe() for f in self.files]


IN_MEMORY = "<arrow table>"  # the source name of an in-memory input


def open_dataset(spec: str | Path | pa.Table, stdin: IO[bytes] | None = None, verify: bool = True) -> Dataset:
    """Resolve an input spec and check what can be checked before reading any data. An Arrow table
    is an input too: a library caller (or a test) runs a step without writing Parquet first. A dataset
    directory's files must match its manifest (`verify`; off only for `validate`, which reports it)."""
    if isinstance(spec, pa.Table):
        return Dataset(IN_MEMORY, spec.schema, _table=spec)
    text = str(spec)
    if text == "-":
        return _open_stdin(stdin if stdin is not None else sys.stdin.buffer)
    path = Path(text)
    if path.is_dir():
        return _open_directory(path, verify)
    if path.is_file():
        return _open_files(text, [path], manifest=None)
    if _GLOB_CHARS & set(text):
        matches = sorted(Path(p) for p in globlib.glob(text) if Path(p).is_file() and not _is_hidden(Path(p)))
        if not matches:
            raise InputError(f"no file matches {text}", hint="check the pattern; quote it so the shell does not expand it")
        return _open_files(text, matches, manifest=None)
    raise InputError(f"{text} does not exist", hint="give a dataset directory, a .parquet file, a glob, or - for stdin")


def _is_hidden(path: Path) -> bool:
    return path.name.startswith(("_", "."))


def _open_directory(path: Path, verify: bool = True) -> Dataset:
    manifest = read_manifest(path)
    if manifest is None:
        has_parquet = any(path.glob("*.parquet"))
        expected = manifest_path(path)
        if has_parquet:
            raise InputError(
                f"{path} has no manifest ({expected} is missing): it is an unfinished cltool output (a step was "
                "interrupted) or not a cltool dataset",
                hint=f"a moved or copied dataset takes {expected.name} (and {path.name}.rejected) along; otherwise "
                     f"re-run the step that writes it, or to read its Parquet files anyway pass a glob: '{path}/*.parquet'",
            )
        raise InputError(
            f"{path} is not a dataset: it has no manifest ({expected}) and no Parquet files",
            hint="give a directory written by cltool, a .parquet file, or a glob",
        )
    names = [entry["path"] for entry in manifest.get("outputs", [])]
    missing = [n for n in names if not (path / n).is_file()]
    if missing:
        raise InputError(
            f"{path} is damaged: its manifest lists {', '.join(missing)} but the file is missing",
            hint="re-run the step that wrote this dataset",
        )
    if not names:
        raise InputError(f"{path} is damaged: its manifest lists no data files", hint="re-run the step that wrote it")
    dataset = _open_files(str(path), [path / n for n in names], manifest=manifest)
    if verify:
        _verify(path, manifest, dataset.files)
    return dataset


VERIFY_SHA256_BYTES = 64 << 20  # below this, reading every byte once more is cheap next to the step


def _verify(path: Path, manifest: dict[str, Any], files: list[InputFile]) -> None:
    """The files are the ones the manifest describes: rows and sizes always, sha256 when the dataset is
    small. A shard replaced or edited since is refused, not read as if it were what the step wrote."""
    recorded = manifest.get("outputs", [])
    check_sha = sum(f.bytes for f in files) <= VERIFY_SHA256_BYTES
    for entry, f in zip(recorded, files):
        problem = None
        if entry.get("rows") is not None and entry["rows"] != f.rows:
            problem = f"{entry['rows']:,} rows in the manifest, {f.rows:,} in the file"
        elif entry.get("bytes") is not None and entry["bytes"] != f.bytes:
            problem = f"{entry['bytes']:,} bytes in the manifest, {f.bytes:,} on disk"
        elif check_sha and entry.get("sha256") and entry["sha256"] != file_sha256(f.path):
            problem = "its sha256 is not the one in the manifest"
        if problem:
            raise InputError(f"{f.path} was changed after cltool wrote {path}: {problem}",
                             hint="re-run the step that wrote it (or restore the file)")


def _open_files(source: str, paths: list[Path], manifest: dict[str, Any] | None) -> Dataset:
    files: list[InputFile] = []
    schema: pa.Schema | None = None
    first: Path | None = None
    for p in paths:
        try:
            meta = pq.read_metadata(p)
            file_schema = pq.read_schema(p)
        except (pa.ArrowException, OSError) as exc:
            hint = ("use `cltool ingest` to read JSONL, CSV or TSV" if not _looks_like_parquet(p)
                    else "the file is corrupt or truncated; re-create it")
            raise InputError(f"{p} is not a readable Parquet file: {exc}", hint=hint) from None
        files.append(InputFile(path=p, rows=meta.num_rows, bytes=p.stat().st_size))
        file_schema = file_schema.remove_metadata()
        if schema is None:
            schema, first = file_schema, p
        elif not file_schema.equals(schema):
            raise InputError(
                f"{p} and {first} have different schemas: {_schema_difference(schema, file_schema)}",
                hint="read them as separate inputs, or ingest them into one dataset",
            )
        else:
            _check_same_embeddings(schema, first, file_schema, p)
    assert schema is not None
    return Dataset(source=source, schema=schema, files=files, manifest=manifest)


def _check_same_embeddings(schema: pa.Schema, first: Path | None, other: pa.Schema, path: Path) -> None:
    """Shards of one input must carry embeddings made alike (`require_comparable` within one column):
    vectors of two models in one column would be compared as if they were one space, silently."""
    from cltool.dataset.pairs import comparable_info, require_comparable

    for field in schema:
        require_comparable(comparable_info(field), comparable_info(other.field(field.name)), same_column=True,
                           where=f"{field.name} of {path} and of {first}")


def _looks_like_parquet(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"PAR1"
    except OSError:
        return False


def _schema_difference(a: pa.Schema, b: pa.Schema) -> str:
    fa, fb = {f.name: f.type for f in a}, {f.name: f.type for f in b}
    parts = [f"{n} only in one" for n in sorted(set(fa) ^ set(fb))]
    parts += [f"{n} is {fa[n]} vs {fb[n]}" for n in fa if n in fb and fa[n] != fb[n]]
    return "; ".join(parts) or "column order differs"


def _open_stdin(stream: IO[bytes]) -> Dataset:
    if hasattr(stream, "isatty") and stream.isatty():
        raise InputError("input is - but stdin is a terminal",
                         hint="pipe a cltool command into it: cltool ingest pairs.jsonl -o - | cltool inspect -")
    from cltool.dataset import stdin as piped  # what shells pipe in, told apart by its first bytes

    head, stream = piped.peek(stream)
    kind = piped.what_is(head)
    if kind not in (piped.ARROW, piped.BINARY):  # BINARY: perhaps an Arrow stream of the old format
        if kind == piped.EMPTY:
            raise InputError("stdin is empty, not an Arrow IPC stream",
                             hint="the command before the | wrote nothing; see its error above")
        jsonl = kind in (piped.JSONL, piped.GZIP_JSONL)
        hint = ("convert it first: ... | cltool ingest -" + ("" if jsonl else " -f csv") + " -o - | cltool embed - -o DIR"
                + ("" if jsonl else " (-f tsv for tab-separated text)"))
        if kind in (piped.PARQUET, piped.ARROW_FILE):
            hint = "give the file's path instead of -"
        raise InputError(f"stdin holds {piped.DESCRIPTION[kind]}, not an Arrow IPC stream", hint=hint)
    try:
        reader = pa.ipc.open_stream(stream)
    except pa.ArrowException as exc:
        raise InputError(f"stdin is not an Arrow IPC stream ({exc})",
                         hint="pipe the output of a cltool command run with -o - into it") from None
    return Dataset(source="-", schema=reader.schema.remove_metadata(), _stream=reader)


def release_memory() -> None:
    """Hand the memory Arrow has freed back to the system. Arrow's allocator keeps what a read used
    for the next one; after a step's big read (dedup's load: 180 MB of 135k rows' decoded pages) that
    is a peak the rest of the step carries for nothing."""
    pa.default_memory_pool().release_unused()

"""Write a step's output atomically, with its rejected rows and its manifest.

A directory output `NAME/` holds its shards only; `NAME.rejected/` (a dataset of its own), any parts
(`NAME.PART/`) and every manifest (`NAME.manifest.json`, ...) lie beside it (see `manifest.py`).
Each directory is assembled under a temporary name (`.NAME.cltool-tmp-PID`), each shard written under
a `.partial` name and renamed when complete. At the end the old output's manifest is retired first
(from then on the old output reads as unfinished), the directories are swapped into place, and the
manifests follow, the output's own last. A step that dies at any point leaves the old output or
none, never half of one; the next run clears the debris of a dead one. `-` writes an Arrow IPC
stream to stdout instead.
"""

from __future__ import annotations

import datetime as dt
import ctypes
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from cltool import __version__
from cltool.dataset.columns import DETAIL, REASON
from cltool.dataset.manifest import (FORMAT, MANIFEST_SUFFIX, REJECTED_SUFFIX, beside, file_sha256, has_manifest,
                                     lineage_of, named, write_manifest)
from cltool.dataset.read import STREAM_END, STREAM_MARK, Dataset
from cltool.errors import CltoolError, OutputClosedError, UsageError
from cltool.stages import StageTimer

DEFAULT_SHARD_ROWS = 250_000
_END = object()
ROW_GROUP_ROWS = 65_536


class ShardWriter:
    """Parquet shards `part-00000.parquet`, ... in one directory, `rows_per_shard` rows each."""

    def __init__(self, directory: Path, rows_per_shard: int = DEFAULT_SHARD_ROWS):
        self.directory = directory
        self.rows_per_shard = rows_per_shard
        self.schema: pa.Schema | None = None
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._shard_rows = 0
        self._shards: list[tuple[str, int]] = []

    def write(self, table: pa.Table) -> None:
        table = self._conform(table)
        offset = 0
        while offset < table.num_rows:
            if self._writer is None:
                self._open_shard()
            take = min(table.num_rows - offset, self.rows_per_shard - self._shard_rows)
            self._writer.write_table(table.slice(offset, take), row_group_size=ROW_GROUP_ROWS)
            self._shard_rows += take
            self.rows += take
            offset += take
            if self._shard_rows >= self.rows_per_shard:
                self._close_shard()

    def close(self) -> list[dict[str, Any]]:
        """Finish the last shard (an empty one if nothing was written) and describe every shard."""
        if self._writer is None and not self._shards:
            if self.schema is None:
                raise CltoolError("internal error: an output was closed before its schema was known")
            self._open_shard()
        if self._writer is not None:
            self._close_shard()
        return [
            {"path": name, "rows": rows, "bytes": (self.directory / name).stat().st_size,
             "sha256": file_sha256(self.directory / name)}
            for name, rows in self._shards
        ]

    def _conform(self, table: pa.Table) -> pa.Table:
        if self.schema is None:
            self.schema = table.schema.remove_metadata()
            return table
        if table.schema.equals(self.schema):
            return table
        try:
            return table.select(self.schema.names).cast(self.schema)
        except (pa.ArrowException, KeyError) as exc:
            raise CltoolError(f"internal error: a batch does not match the output schema ({exc})") from None

    def _open_shard(self) -> None:
        name = f"part-{len(self._shards):05d}.parquet"
        # no dictionary for vector columns: floats rarely repeat, and trying one cost half the write
        # (embed's 135k x 256 vectors: 1.16 s -> 0.47 s, and the file smaller)
        dictionary = [path for f in self.schema if not pa.types.is_fixed_size_list(f.type)
                      for path in _leaf_paths(f.name, f.type)]
        self._writer = pq.ParquetWriter(self.directory / (name + ".partial"), self.schema, compression="zstd",
                                        use_dictionary=dictionary)
        self._shard_name = name
        self._shard_rows = 0

    def _close_shard(self) -> None:
        self._writer.close()
        (self.directory / (self._shard_name + ".partial")).rename(self.directory / self._shard_name)
        self._shards.append((self._shard_name, self._shard_rows))
        self._writer = None


def _leaf_paths(name: str, type_: pa.DataType) -> list[str]:
    """The Parquet column paths of an Arrow field (what ParquetWriter's per-column options name):
    `negatives.list.element` for a list of strings, `a.b` for a struct's child."""
    if any(getattr(pa.types, kind, lambda t: False)(type_)  # the list views are pyarrow >= 16's
           for kind in ("is_list", "is_large_list", "is_list_view", "is_large_list_view")):
        return _leaf_paths(f"{name}.list.element", type_.value_type)
    if pa.types.is_struct(type_):
        return [p for i in range(type_.num_fields) for p in _leaf_paths(f"{name}.{type_.field(i).name}",
                                                                          type_.field(i).type)]
    if pa.types.is_map(type_):
        return [*_leaf_paths(f"{name}.key_value.key", type_.key_type),
                *_leaf_paths(f"{name}.key_value.value", type_.item_type)]
    return [name]


class _StreamSink:
    """`-o -`: an Arrow IPC stream on stdout, opened at the first write (when the schema is known).

    The schema carries `cltool` in its metadata and the stream ends with an empty batch marked
    complete, so that the reader can tell a finished stream from a writer that died midway: a pipe
    only shows end of file either way.
    """

    def __init__(self, stream: IO[bytes]):
        self.stream = stream
        self.schema: pa.Schema | None = None
        self.rows = 0
        self._writer: pa.ipc.RecordBatchStreamWriter | None = None

    def write(self, table: pa.Table) -> None:
        with _reader_gone_is_an_error():
            if self._writer is None:
                self.schema = table.schema.remove_metadata()
                self._writer = pa.ipc.new_stream(self.stream, self.schema.with_metadata({STREAM_MARK: __version__}))
            elif not table.schema.equals(self.schema):
                table = table.select(self.schema.names).cast(self.schema)
            self._writer.write_table(table.replace_schema_metadata({STREAM_MARK: __version__}))
        self.rows += table.num_rows

    def close(self) -> None:
        with _reader_gone_is_an_error():
            if self._writer is not None:
                end = pa.RecordBatch.from_pylist([], schema=self.schema.with_metadata({STREAM_MARK: __version__}))
                self._writer.write_batch(end, custom_metadata=STREAM_END)
                self._writer.close()
            self.stream.flush()


@contextmanager
def _reader_gone_is_an_error() -> Iterator[None]:
    try:
        yield
    except BrokenPipeError:
        raise OutputClosedError("the program reading cltool's output closed the pipe before the end",
                                hint="check the command after the |") from None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_replaceable(final: Path, option: str = "-o") -> None:
    """An output path may be new, an empty folder or a cltool dataset (replaced whole), never a file or
    a folder of the user's own."""
    if not final.exists():
        return
    if not final.is_dir():
        raise UsageError(f"output {final} exists and is a file", hint=f"give a directory path with {option}")
    if has_manifest(final) or not any(final.iterdir()) or _retired_manifest(final):
        return
    raise UsageError(
        f"refusing to replace {final}: it is not a cltool dataset (no {beside(final, MANIFEST_SUFFIX).name})",
        hint=f"remove it yourself or choose another {option} path",
    )


def _retired_manifest(final: Path) -> bool:
    """A cltool run died while replacing `final`: it had retired the manifest (see Output)."""
    manifest = beside(final, MANIFEST_SUFFIX)
    return any(manifest.parent.glob(f".{manifest.name}.cltool-old-*"))


def temporary_path(final: Path) -> Path:
    """Where this process builds `final` before renaming it into place: `.NAME.cltool-tmp-PID`
    beside it (the PID tells the next run whether its writer is still alive; see clear_debris)."""
    return final.parent / f".{final.name}.cltool-tmp-{os.getpid()}"


def dead_writer(debris: Path) -> bool:
    """`.NAME.cltool-KIND-PID` was left by a process that is gone (not one still writing it)."""
    pid = debris.name.rsplit("-", 1)[-1]
    return pid.isdigit() and not _pid_alive(int(pid))


def clear_debris(final: Path) -> None:
    """Remove what a killed cltool left beside `final`: its temporary and old copies (files or folders)."""
    for pattern in (f".{final.name}.cltool-tmp-*", f".{final.name}.cltool-old-*"):
        for debris in final.parent.glob(pattern):
            if dead_writer(debris):
                if debris.is_dir():
                    shutil.rmtree(debris, ignore_errors=True)
                else:
                    debris.unlink(missing_ok=True)


def exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one step (Linux's renameat2 RENAME_EXCHANGE), so that a reader, or a
    kill, finds the old output or the new one and never neither; False where the system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_cwd, rename_exchange = -100, 2
    return renameat2(at_cwd, os.fsencode(a), at_cwd, os.fsencode(b), rename_exchange) == 0


def write_file_atomically(path: Path, text: str) -> None:
    """A file that appears whole or not at all (report's page, validate's JUnit XML): written under a
    temporary name beside it, then renamed; a dead writer's temporary file is cleared first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    clear_debris(path)
    tmp = temporary_path(path)
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class _AtomicDirectory:
    """A dataset directory and its manifest beside it, assembled under temporary names and put into
    place by `commit`: first `retire` the old manifest, then `swap` the directory, then `place` the
    manifest (an Output does each for all its directories before the next)."""

    def __init__(self, final: Path, option: str = "-o"):
        self.final = named(final)
        self.manifest = beside(self.final, MANIFEST_SUFFIX)
        check_replaceable(self.final, option)
        self.final.parent.mkdir(parents=True, exist_ok=True)
        clear_debris(self.final)
        clear_debris(self.manifest)
        self.tmp = temporary_path(self.final)
        if self.tmp.exists():
            shutil.rmtree(self.tmp)
        self.tmp.mkdir()
        self.manifest_tmp = temporary_path(self.manifest)
        self._retired = self.manifest.parent / f".{self.manifest.name}.cltool-old-{os.getpid()}"
        self._old = self.final.parent / f".{self.final.name}.cltool-old-{os.getpid()}"  # where swap moves the old

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        write_manifest(self.tmp, manifest, final=self.manifest_tmp)

    def retire(self) -> None:
        if self.manifest.is_file():
            os.rename(self.manifest, self._retired)

    def swap(self) -> Path | None:
        """Put the new directory in place; returns where the old one went (removed once every manifest is
        placed: a dead run's is cleared by the next), None when there was none."""
        if self.final.exists() and exchange(self.tmp, self.final):
            return self.tmp  # now holds the old output
        if self.final.exists():
            os.rename(self.final, self._old)
            os.rename(self.tmp, self.final)
            return self._old
        os.rename(self.tmp, self.final)
        return None

    def place(self) -> None:
        os.replace(self.manifest_tmp, self.manifest)
        self._retired.unlink(missing_ok=True)

    def abort(self, restore: bool = True) -> None:
        """Remove what was assembled; `restore` the retired manifest where nothing was swapped yet."""
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.manifest_tmp.unlink(missing_ok=True)
        if restore and self._retired.is_file() and not self.manifest.exists():
            os.rename(self._retired, self.manifest)  # the old output is whole again
        elif not restore:
            shutil.rmtree(self._old, ignore_errors=True)  # a replaced output's old copy: no manifest will name it


class Output:
    """The output of one step: kept rows, rejected rows with their reasons, and the manifest.

    Use as a context manager. On a clean exit the manifest is written and the directory renamed
    into place; on an exception nothing is left behind. `rows_input` (set with `count_input`) must
    equal kept + rejected, or the step fails rather than write a manifest whose counts do not add up.
    """

    def __init__(
        self,
        target: str | Path,
        *,
        command: str,
        params: dict[str, Any],
        inputs: Sequence[Dataset] = (),
        argv: Sequence[str] | None = None,
        rejected_target: str | Path | None = None,
        stdout: IO[bytes] | None = None,
        rows_per_shard: int = DEFAULT_SHARD_ROWS,
        started: float | None = None,
        keeps_rejected: bool = True,
    ):
        self.target = str(target)
        self._started = started  # time.perf_counter() when the step began, if before the output opened
        self.command = command
        self.params = params
        self.inputs = list(inputs)
        self.argv = list(argv) if argv is not None else None
        self.rejected_target = str(rejected_target) if rejected_target is not None else None
        self.stdout = stdout
        self.rows_per_shard = rows_per_shard
        self.keeps_rejected = keeps_rejected  # False: a dataset that is itself removed rows, or a spool
        self.rows_input: int | None = None
        self.rejected_by_reason: Counter[str] = Counter()
        self._timer = StageTimer()
        self.stages = self._timer.times
        self.summary: dict[str, Any] = {}
        self.manifest: dict[str, Any] | None = None
        self._kept: ShardWriter | _StreamSink | None = None
        self._rejected: ShardWriter | None = None
        self._side: list[tuple[_AtomicDirectory, ShardWriter, str, _AtomicDirectory]] = []  # ..., part of
        self._dirs: list[_AtomicDirectory] = []
        self._main: _AtomicDirectory | None = None
        self._rejected_dir: _AtomicDirectory | None = None
        self._swapping = False  # the swaps have begun

    @property
    def to_stdout(self) -> bool:
        return self.target == "-"

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Output:
        if self._started is None:
            self._started = time.perf_counter()
        self._check_rejected_target()
        try:
            if self.to_stdout:
                self._kept = _StreamSink(self.stdout if self.stdout is not None else sys.stdout.buffer)
            else:
                self._main = self._directory(Path(self.target))
                self._kept = ShardWriter(self._main.tmp, self.rows_per_shard)
            if self.keeps_rejected and (self.rejected_target is not None or not self.to_stdout):
                where = (Path(self.rejected_target) if self.rejected_target is not None
                         else beside(self.target, REJECTED_SUFFIX))
                self._rejected_dir = self._directory(where, option="--rejected" if self.rejected_target else "-o")
                self._rejected = ShardWriter(self._rejected_dir.tmp, self.rows_per_shard)
        except BaseException:
            self._abort()
            raise
        return self

    def _directory(self, final: Path, option: str = "-o") -> _AtomicDirectory:
        directory = _AtomicDirectory(final, option)
        self._dirs.append(directory)
        return directory

    def _abort(self) -> None:
        for d in self._dirs:
            d.abort(restore=not self._swapping)

    def _check_rejected_target(self) -> None:
        if self.rejected_target is None or self.to_stdout:
            return
        rejected, main = Path(self.rejected_target).resolve(), Path(self.target).resolve()
        if rejected == main or main in rejected.parents or rejected in main.parents:
            raise UsageError(f"--rejected {self.rejected_target} must lie outside the output {self.target}",
                             hint="leave --rejected out to get OUT.rejected beside it, or give a separate directory")

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self._abort()
            return
        try:
            self._finish()
        except BaseException:
            self._abort()
            raise

    # -- what a step calls -------------------------------------------------------------------
    def count_input(self, rows: int) -> None:
        self.rows_input = (self.rows_input or 0) + rows

    def write(self, data: pa.Table | pa.RecordBatch) -> None:
        self._kept.write(_as_table(data))

    def reject(self, data: pa.Table | pa.RecordBatch, reason: str | None = None, detail: str | None = None) -> None:
        """Keep removed rows with their reason: pass `reason`/`detail` for all rows, or give columns."""
        table = _as_table(data)
        if table.num_rows == 0:
            return
        if reason is not None:
            table = with_rejection(table, **{REASON: [reason] * table.num_rows, DETAIL: [detail] * table.num_rows})
        if REASON not in table.schema.names:
            raise CltoolError("internal error: rejected rows without a reason")
        self.rejected_by_reason.update(table.column(REASON).to_pylist())
        if self._rejected is not None:
            self._rejected.write(table)
        elif not self.keeps_rejected:
            raise CltoolError(f"internal error: {self.target} keeps no rejected rows, yet rows were rejected")

    def side_dataset(self, name: str) -> ShardWriter:
        """A part of the output that is not rows of it (OUT.NAME beside it, a dataset with its own
        manifest), written and committed together with the output."""
        if self.to_stdout:
            raise UsageError(f"{self.command} writes {name} beside its rows, which a stream on stdout cannot hold",
                             hint="write to a directory with -o DIR")
        return self._part(self._main, name)

    def rejected_side_dataset(self, name: str) -> ShardWriter | None:
        """A part of the rejected dataset (REJECTED.NAME beside it, with its own manifest), for removed
        things that are not rows of the input (filter's removed negatives); None where rejected
        rows have nowhere to go (-o - without --rejected)."""
        if self._rejected is None:
            return None
        return self._part(self._rejected_dir, name)

    def _part(self, owner: _AtomicDirectory, name: str) -> ShardWriter:
        directory = self._directory(beside(owner.final, name))
        writer = ShardWriter(directory.tmp, self.rows_per_shard)
        self._side.append((directory, writer, name, owner))
        return writer

    def stage(self, name: str):
        """Time a stage of the step: `with out.stage("read"): ...`."""
        return self._timer(name)

    def timed(self, stage: str, items: Iterable[Any]) -> Iterator[Any]:
        """Iterate, adding the time spent producing each item (reading, parsing) to `stage`."""
        iterator = iter(items)
        while True:
            with self.stage(stage):
                item = next(iterator, _END)
            if item is _END:
                return
            yield item

    # -- internals ---------------------------------------------------------------------------
    def _finish(self) -> None:
        rejected = sum(self.rejected_by_reason.values())
        kept = self._kept.rows
        if self.rows_input is not None and self.rows_input != kept + rejected:
            raise CltoolError(
                f"internal error: row accounting does not add up ({self.rows_input} in, {kept} kept, {rejected} rejected)"
            )
        # checksums and the shards' footers are part of the step's time: a stage of their own, before the wall
        with self.stage("finish"):
            common = {
                "format": FORMAT,
                "cltool_version": __version__,
                "command": self.command,
                "argv": self.argv,
                "params": self.params,
                "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "inputs": [{"source": d.source, "files": d.describe_inputs()} for d in self.inputs],
                "lineage": lineage_of(self.inputs[0].manifest) if self.inputs else [],
            }
            if isinstance(self._kept, _StreamSink):
                if self._kept.schema is None:
                    raise CltoolError("internal error: nothing was written to stdout, not even a schema")
                self._kept.close()
                kept_files = None
            else:
                kept_files = self._kept.close()
            sides = [(directory, writer, name, owner, writer.close()) for directory, writer, name, owner in self._side]
            if self._rejected is not None:
                if self._rejected.schema is None:  # nothing was rejected: still an (empty) dataset, never a stale one
                    kept_schema = self._kept.schema
                    self._rejected.write(pa.table({**{f.name: pa.array([], f.type) for f in kept_schema},
                                                   REASON: pa.array([], pa.string()),
                                                   DETAIL: pa.array([], pa.string())}))
                rejected_files = self._rejected.close()
        self.manifest = {
            **common,
            "rows": {"input": self.rows_input if self.rows_input is not None else kept + rejected,
                     "output": kept, "rejected": rejected},
            "rejected_by_reason": dict(sorted(self.rejected_by_reason.items())),
            "summary": self.summary,
            "stages": self.stages,
            "wall_time_s": round(time.perf_counter() - self._started, 3),
        }
        if kept_files is not None:
            self.manifest["outputs"] = kept_files
            self.manifest["schema"] = _describe_schema(self._kept.schema)
        parts: dict[int, list[str]] = {}  # the parts each directory has, for its manifest
        for directory, writer, name, owner, files in sides:
            directory.write_manifest({**common, "rows": {"output": writer.rows}, "outputs": files,
                                      "schema": _describe_schema(writer.schema)})
            parts.setdefault(id(owner), []).append(name)
        if self._rejected is not None:
            rejected_manifest = {
                **common,
                "rows": {"output": self._rejected.rows},
                "rejected_by_reason": dict(sorted(self.rejected_by_reason.items())),
                "outputs": rejected_files,
                "schema": _describe_schema(self._rejected.schema),
            }
            if parts.get(id(self._rejected_dir)):
                rejected_manifest["side_datasets"] = parts[id(self._rejected_dir)]
            self._rejected_dir.write_manifest(rejected_manifest)
            self.manifest["rejected_dataset"] = (
                self._rejected_dir.final.name if self.rejected_target is None
                else str(Path(self.rejected_target).resolve())
            )
        if parts.get(id(self._main)):
            self.manifest["side_datasets"] = parts[id(self._main)]
        if self._main is not None:
            self._main.write_manifest(self.manifest)
        self._commit()

    def _commit(self) -> None:
        """Retire every old manifest (the output's first: from then on the old output reads as
        unfinished), swap every directory into place, then place the manifests, the output's last."""
        ordered = [d for d in self._dirs if d is not self._main] + ([self._main] if self._main else [])
        for d in reversed(ordered):
            d.retire()
        olds = []
        for d in ordered:
            self._swapping = True  # set before the rename: once it may have happened, the old manifests stay retired
            olds.append(d.swap())
        for d in ordered:
            d.place()
        for old in olds:  # the old copies go only once the new output is whole
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)


def with_rejection(table: pa.Table, **columns: pa.Array | list) -> pa.Table:
    """The removed rows plus `reason`, `detail` and any other rejection columns (duplicate_of, ...).
    A column of the user's that has one of those names is kept as input_NAME, never overwritten."""
    for name in columns:
        if name in table.schema.names:
            table = table.rename_columns([f"input_{n}" if n == name else n for n in table.schema.names])
    for name, values in columns.items():
        table = table.append_column(name, values if isinstance(values, pa.Array) else pa.array(values, pa.string()))
    return table


def _as_table(data: pa.Table | pa.RecordBatch) -> pa.Table:
    return pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data


def _describe_schema(schema: pa.Schema | None) -> dict[str, str]:
    return {f.name: str(f.type) for f in schema} if schema is not None else {}

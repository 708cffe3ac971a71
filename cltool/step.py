"""The step runner: what every step (ingest, embed, dedup, mine, filter, emit) shares, written once.

A step is a function `step(input, output, settings, run=None, ...) -> manifest`: `settings` is what
the user decided (one dataclass per step, with a `check()`), `run` is how the step is run:

- where rejected rows go (`rejected`, default OUT.rejected beside the output), the command line the manifest records
  (`argv`), who hears progress (`reporter`), the process's stdin and stdout (for `-`);
- the clock (`started`) and the time of each stage before the output opens (`stages`).

From a `Run` a step opens its input (a path, a glob, `-`, or an in-memory Arrow table), makes it
readable twice where it must (`readable_twice` spools stdin), refuses an empty input
(`require_rows`) and opens its `Output`, which writes the kept and rejected rows and the manifest
atomically. So a step supplies only what it decides.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, Protocol, TypeVar

import pyarrow as pa

from cltool.dataset.read import Dataset, open_dataset
from cltool.dataset.write import Output, check_replaceable
from cltool.errors import InputError, UsageError
from cltool.progress import NullReporter, Reporter
from cltool.stages import StageTimer


class Checked(Protocol):
    def check(self) -> Any: ...


S = TypeVar("S", bound=Checked)


@dataclass
class Run:
    """How a step is run, apart from what it decides."""

    rejected: str | None = None  # where removed rows go (None: OUT.rejected beside the output)
    argv: Sequence[str] | None = None  # the command line, for the manifest
    reporter: Reporter = field(default_factory=NullReporter)
    stdin: IO[bytes] | None = None  # read for an input `-` (default: the process's stdin)
    stdout: IO[bytes] | None = None  # written for an output `-` (default: the process's stdout)
    started: float = field(default_factory=time.perf_counter)
    stages: StageTimer = field(default_factory=StageTimer)  # stages timed before the output opens
    # when the process began (the CLI's commands): the time until the step begins is its "start-up" stage
    process_started: float | None = None
    # the `rejected` paths the steps of this Run wrote: a second step would replace the first's rows
    rejected_written: set[Path] = field(default_factory=set)

    def open(self, source: str | pa.Table, verify: bool = True) -> Dataset:
        return open_dataset(source, stdin=self.stdin, verify=verify)

    @contextmanager
    def readable_twice(self, source: str | pa.Table) -> Iterator[str | pa.Table]:
        """`source` as something the step can read twice: itself (a path, or an in-memory table), or
        for `-` the stream spooled to a temporary dataset that is removed when the step ends."""
        if isinstance(source, pa.Table) or source != "-":
            yield source
            return
        import tempfile

        with tempfile.TemporaryDirectory(prefix="cltool-stdin-") as spooled:
            yield spool(self.open("-"), Path(spooled) / "stdin")

    def stage(self, name: str):
        """Time a stage (`with run.stage("load"): ...`); the times go into the manifest."""
        return self.stages(name)

    def output(self, target: str, command: str, params: dict[str, Any], inputs: Sequence[Dataset] = ()) -> Output:
        """The step's output (a context manager), carrying the stages timed so far."""
        out = Output(target, command=command, params=params, inputs=inputs, argv=self.argv,
                     rejected_target=self.rejected, stdout=self.stdout, started=self.started)
        out.stages.update(self.stages.times)
        return out


def spool(stream: Dataset, path: Path) -> str:
    """Keep a stream (stdin) on disk as a dataset, for a step that reads its input twice."""
    with Output(path, command="spool", params={}, keeps_rejected=False) as out:
        out.write(stream.schema.empty_table())
        for batch in stream.batches():
            out.write(batch)
    return str(path)


def prepare(settings: S | None, default: type[S], run: Run | None, output: str | None = None) -> tuple[S, Run]:
    """The step's settings (the defaults when none are given), checked before anything is read, and its
    run; `output` (a dataset directory) is checked too, so a path the step may not replace is refused
    before the work, not after it."""
    settings = settings if settings is not None else default()
    settings.check()
    # a fresh clock and stage times for this step, also when a caller reuses one Run for several steps; a
    # command's clock starts with its process, the imports before the step being its "start-up" stage
    if run is None:
        run = Run()
    now = time.perf_counter()
    run = replace(run, started=run.process_started if run.process_started is not None else now, stages=StageTimer(),
                  process_started=None)
    if run.started < now:
        run.stages.times["start-up"] = round(now - run.started, 3)
    for target in (output, run.rejected):
        if target is not None and target != "-":
            check_replaceable(Path(target), "-o" if target == output else "--rejected")
    if run.rejected is not None and run.rejected != "-":
        if Path(run.rejected).resolve() in run.rejected_written:
            raise UsageError(f"rejected={run.rejected} holds the rows an earlier step of this Run removed: "
                             "this step would replace them", hint="give each step a Run with its own `rejected`, "
                             "or leave it None for OUT.rejected beside the output")
        run.rejected_written.add(Path(run.rejected).resolve())
    return settings, run


def require_rows(dataset: Dataset, rows: int | None = None) -> None:
    """An empty input is an error, not an empty output: it is almost always the wrong input."""
    if (rows if rows is not None else dataset.num_rows) == 0:
        raise InputError(f"{dataset.source} is empty: it has no rows", hint="check that the right input was given")

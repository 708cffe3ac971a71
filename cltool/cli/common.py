"""What every command shares: options, the stderr console, progress, and the step report.

Only typer and rich are imported here: this module is on the start-up path of every command.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from typing import Annotated, Any, Callable, Iterator

import typer
from rich.console import Console

from cltool.progress import NullTask

stderr = Console(stderr=True, highlight=False, soft_wrap=True)

Quiet = Annotated[bool, typer.Option("--quiet", "-q", envvar="CLTOOL_QUIET",
                                     help="No progress or summary on stderr (warnings and errors still show).")]
Json = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
OutputOpt = Annotated[str, typer.Option("--output", "-o", metavar="DIR|-",
                                        help="Output dataset directory, or - for an Arrow IPC stream on stdout.")]
EngineOpt = Annotated[str | None, typer.Option("--engine", envvar="CLTOOL_ENGINE", help="local (this process) or "
                                                "ray (a Ray cluster; pip install 'cltool[ray]').")]
RayAddressOpt = Annotated[str | None, typer.Option("--ray-address", envvar="RAY_ADDRESS", help="--engine ray: the "
                                                   "cluster to join (default: start Ray on this machine).")]
RejectedOpt = Annotated[str | None, typer.Option("--rejected", metavar="DIR",
                                                 help="Where removed rows go (default OUT.rejected beside the output; needed with -o -).")]
DeviceOpt = Annotated[str, typer.Option("--device", envvar="CLTOOL_DEVICE", help="cpu, cuda, cuda:N.")]
BatchSizeOpt = Annotated[int, typer.Option("--batch-size", "-b", min=1, help="Texts (or pairs) per model batch.")]


def seed_option(what: str) -> Any:
    """--seed, declared once; `what` says what it seeds in this command."""
    return Annotated[int, typer.Option("--seed", help=f"{what}.")]


def deprecated_alias(old: str, new: str, old_value: Any, new_value: Any, default: Any = None) -> Any:
    """The value of an option renamed from `old` to `new`: the old spelling still works for one
    release, with a warning; both at once is an error."""
    if old_value is None:
        return new_value
    if new_value != default:
        from cltool.errors import UsageError

        raise UsageError(f"{old} is the old name of {new}: give one of them")
    stderr.print(f"[yellow]warning:[/] {old} is deprecated (it meant two things across commands): use {new}")
    return old_value


def example(*lines: str) -> str:
    """A `--help` epilog holding a worked example."""
    return "Example:\n\n" + "\n\n".join(f"  $ {line}" for line in lines)


class _RichTask:
    def __init__(self, progress, task_id):
        self._progress, self._id = progress, task_id

    def advance(self, n: int = 1) -> None:
        self._progress.advance(self._id, n)


class RichReporter:
    """Progress bars and messages on stderr; bars only when stderr is a terminal and not --quiet."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.show_progress = not quiet and stderr.is_terminal
        self.warnings: list[str] = []

    def info(self, message: str) -> None:
        if not self.quiet:
            stderr.print(message)

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        stderr.print(f"[yellow]warning:[/] {message}")

    @contextmanager
    def task(self, description: str, total: int | None = None, unit: str = "rows") -> Iterator[Any]:
        if not self.show_progress:
            yield NullTask()
            return
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)
        from rich.text import Text

        class Rate(ProgressColumn):
            def render(self, task) -> Text:
                return Text(f"{task.speed or 0:>9,.0f} {unit}/s")

        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), Rate(),
                   TimeElapsedColumn(), TimeRemainingColumn()]
        with Progress(*columns, console=stderr, transient=True) as progress:
            yield _RichTask(progress, progress.add_task(description, total=total))


def optional_number(value: str | None, option: str) -> float | None:
    """A threshold that can be switched off: a number, or off/none."""
    from cltool.errors import UsageError

    if value is None or value.strip().lower() in ("off", "none", ""):
        return None
    try:
        return float(value)
    except ValueError:
        raise UsageError(f"{option} takes a number or 'off', not {value!r}") from None


def threshold_option(value: str | None, option: str) -> float | str | None:
    """A threshold that is derived from the data (auto), switched off (off/none) or given."""
    from cltool.calibration import AUTO
    from cltool.errors import UsageError

    if value is not None and value.strip().lower() == AUTO:
        return AUTO
    try:
        return optional_number(value, option)
    except UsageError:
        raise UsageError(f"{option} takes auto, a number or 'off', not {value!r}") from None


def one_thing_on_stdout(json_out: bool, output: str | None) -> None:
    """stdout carries either the data (-o -) or the JSON report (--json), never both."""
    if json_out and output == "-":
        from cltool.errors import UsageError

        raise UsageError("--json and -o - both want stdout", hint="write the data to a directory with -o DIR")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def argv() -> list[str]:
    return ["cltool", *sys.argv[1:]]


def run_step(name: str, step: Callable[..., dict[str, Any]], input: Any, output: str | None, settings: Any, *,
             json_out: bool, quiet: bool, rejected: str | None = None,
             report: Callable[[dict[str, Any], RichReporter], None] | None = None, what: str = "rows",
             **options: Any) -> dict[str, Any]:
    """Run a step command: stdout holds the data or the JSON, never both; progress and the step's
    report go to stderr; --json prints the manifest. Errors become exit codes in `cltool.cli`."""
    from cltool import PROCESS_STARTED
    from cltool.progress import set_process_reporter
    from cltool.step import Run

    one_thing_on_stdout(json_out, output)
    reporter = RichReporter(quiet)
    run = Run(rejected=rejected, argv=argv(), reporter=reporter, process_started=PROCESS_STARTED)
    set_process_reporter(reporter)  # what happens outside the step's own calls (a kernel compiling)
    manifest = step(input, output, settings, run=run, **options)
    if report is not None:
        report(manifest, reporter)
    else:
        report_step(name, manifest, output or "-", reporter, what)
    if json_out:
        print_json(manifest)
    return manifest


def report_step(name: str, manifest: dict[str, Any], target: str, reporter: RichReporter, what: str = "rows") -> None:
    """One line per output on stderr: rows kept, rows rejected by reason, time; a warning when
    rejected rows had nowhere to go."""
    rows = manifest["rows"]
    reasons = ", ".join(f"{reason} {count:,}" for reason, count in manifest.get("rejected_by_reason", {}).items())
    rejected = f"{rows['rejected']:,} rejected ({reasons})" if rows["rejected"] else "none rejected"
    where = "stdout" if target == "-" else target
    reporter.info(f"{name}: {rows['output']:,} {what} -> {where}; {rejected}; {manifest['wall_time_s']:.1f}s")
    if rows["rejected"] and "rejected_dataset" not in manifest:
        reporter.warn(f"{rows['rejected']:,} rejected rows were not kept: with -o - add --rejected DIR to keep them")


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")

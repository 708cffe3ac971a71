"""The `cltool` command: a thin Typer layer over the library, and the one place errors become exit codes.

Each command module imports only typer and rich at start-up; the library (and with it polars,
torch, faiss, numba) is imported inside the command that needs it, so `cltool --help` and
`cltool inspect` start fast.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Annotated, Sequence

from cltool.cli import signals

if os.path.basename(sys.argv[0]) == "cltool" or sys.argv[0].endswith(os.path.join("cltool", "__main__.py")):
    # the program itself: SIGTERM and SIGINT stop it from here on, even while the rest is imported
    signals.install(defer=True)

import typer  # noqa: E402

from cltool import __version__
from cltool.cli import dedup as dedup_cli
from cltool.cli import embed as embed_cli
from cltool.cli import emit as emit_cli
from cltool.cli import filter as filter_cli
from cltool.cli import ingest as ingest_cli
from cltool.cli import inspect as inspect_cli
from cltool.cli import mine as mine_cli
from cltool.cli import report as report_cli
from cltool.cli import run as run_cli
from cltool.cli import validate as validate_cli
from cltool.cli import warmup as warmup_cli
from cltool.cli.common import env_flag, stderr
from cltool.errors import EXIT_INTERNAL, EXIT_USAGE, OutputClosedError, from_environment

try:  # typer >= 0.20 carries its own copy of click; older ones use click itself
    from typer._click import exceptions as _click_exceptions
except ImportError:  # pragma: no cover - depends on the installed typer
    from click import exceptions as _click_exceptions

app = typer.Typer(
    name="cltool",
    help="Turn raw text pairs into training-ready contrastive-learning data: ingest -> embed -> dedup -> mine "
         "-> filter -> emit, Parquet in, Parquet out.",
    epilog="Example:\n\n  $ cltool ingest pairs.jsonl -o data/pairs && cltool inspect data/pairs\n\n"
           "Exit codes: 0 ok, 1 the data failed a check, 2 usage or input error, 3 internal error.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"cltool {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    pass


app.command("ingest", epilog=ingest_cli.EPILOG)(ingest_cli.ingest_command)
app.command("embed", epilog=embed_cli.EPILOG)(embed_cli.embed_command)
app.command("dedup", epilog=dedup_cli.EPILOG)(dedup_cli.dedup_command)
app.command("mine", epilog=mine_cli.EPILOG)(mine_cli.mine_command)
app.command("filter", epilog=filter_cli.EPILOG)(filter_cli.filter_command)
app.command("emit", epilog=emit_cli.EPILOG)(emit_cli.emit_command)
app.command("validate", epilog=validate_cli.EPILOG)(validate_cli.validate_command)
app.command("report", epilog=report_cli.EPILOG)(report_cli.report_command)
app.command("run", epilog=run_cli.EPILOG)(run_cli.run_command)
app.command("inspect", epilog=inspect_cli.EPILOG)(inspect_cli.inspect_command)
app.command("warmup", epilog=warmup_cli.EPILOG)(warmup_cli.warmup_command)


def _error(message: str, hint: str | None) -> None:
    stderr.print(f"error: {message}", markup=False)
    if hint:
        stderr.print(f"hint: {hint}", markup=False)


def _silence_stdout() -> None:
    """The reader of our stdout went away: keep Python from complaining again when it flushes at exit."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _command_path(args: Sequence[str] | None) -> str:
    words = list(args) if args is not None else sys.argv[1:]
    names = typer.main.get_command(app).commands
    return next((f"cltool {w}" for w in words if w in names), "cltool")


def main(args: Sequence[str] | None = None) -> None:
    """Run cltool and exit with its code: 0 ok, 1 data check failed, 2 usage/input error, 3 internal."""
    debug = env_flag("CLTOOL_DEBUG")
    # SIGTERM (kill, make's interrupt, CI time-outs) and SIGINT unwind like an exception wherever they
    # land, so outputs under construction are removed on the way out (see cli/signals.py)
    ours = signals.install()
    try:
        try:
            code = _run(args, debug)
        except KeyboardInterrupt:  # a stop signal after the command's own handling, before finish()
            _interrupted()
            code = signals.exit_code(130)
        signals.finish(code)
    finally:
        if ours:  # called in-process (a test, a library caller): give the process its handlers back
            signals.uninstall()
    sys.exit(code)


def _run(args: Sequence[str] | None, debug: bool) -> int:
    command = typer.main.get_command(app)
    try:
        signals.start()  # a signal that came while cltool was starting is raised here
        result = command.main(args=list(args) if args is not None else None, prog_name="cltool", standalone_mode=False)
        code = result if isinstance(result, int) else 0
        if signals.received() is not None:  # typer returned 130 for it; or it came after the work was done
            _interrupted()
            return signals.exit_code()
    except typer.Exit as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):  # typer's word for one (and for our stop signals)
            _interrupted()
            return signals.exit_code(130)
        code = exc.exit_code
    except typer.Abort:  # click's word for a KeyboardInterrupt (and for our stop signals)
        _interrupted()
        code = signals.exit_code(130)
    except _click_exceptions.ClickException as exc:
        if debug:
            traceback.print_exc()
        ctx = getattr(exc, "ctx", None)
        name = ctx.command_path if ctx is not None else "cltool"
        if exc.format_message():  # no message: the help was shown because no arguments were given
            _error(exc.format_message(), f"see '{name} --help'")
        code = EXIT_USAGE
    except KeyboardInterrupt:
        _interrupted()
        code = signals.exit_code(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, not a traceback
        if debug:
            traceback.print_exc()
        if signals.received() is not None:  # a library turned the stop signal into an error of its own
            _interrupted()
            return signals.exit_code()
        known = from_environment(exc)  # ours, or the OS's / the data's (a full disk, a closed pipe, bad bytes)
        if known is None:
            _error(f"internal error: {type(exc).__name__}: {exc}",
                   "re-run with CLTOOL_DEBUG=1 for a traceback, and report it")
            code = EXIT_INTERNAL
        else:
            if isinstance(known, OutputClosedError):
                _silence_stdout()
            hint = known.hint
            if hint is None and known.exit_code == EXIT_USAGE:
                hint = f"see '{_command_path(args)} --help'"
            _error(known.message, hint)
            code = known.exit_code
    return code


def _interrupted() -> None:
    received = signals.received()
    name = "interrupted" if received is None else f"stopped by {signals.signal.Signals(received).name}"
    argv = sys.argv[1:]
    to_stdout = any(a == "-" and before in ("-o", "--output") for before, a in zip(argv, argv[1:]))
    _error(f"{name}; " + ("what went to stdout is cut short" if to_stdout else "no output was left half-written"),
           None)

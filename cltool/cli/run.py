"""`cltool run`: run a pipeline file, step by step, skipping what is up to date."""

from __future__ import annotations

from typing import Annotated

import typer

from cltool.cli.common import Json, Quiet, example, print_json, stderr

EPILOG = example(
    "cltool run examples/pipeline.toml                 # the whole chain; a re-run redoes only what changed",
    "cltool run examples/pipeline.toml --from mined    # this step and every one after it, again",
    "cltool run examples/pipeline.toml --dry-run       # print what would run",
)


def run_command(
    pipeline: Annotated[str, typer.Argument(metavar="PIPELINE.toml", help="The pipeline file.")],
    start: Annotated[str | None, typer.Option("--from", metavar="STEP", help="Run this step and the ones after it "
                                              "even when they are up to date.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the commands it would run, run none.")] = False,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    """Run a chain declared once in a TOML file ([[step]] tables: name, command, input, output,
    options). Each step runs as its own cltool process and is skipped when its output's manifest
    records the same command line and inputs whose files have not changed."""
    from cltool.pipeline import run

    def echo(line: str) -> None:
        if not quiet:
            stderr.print(line, markup=False)

    result = run(pipeline, start=start, dry_run=dry_run, quiet=quiet, echo=echo)
    if json_out:
        print_json(result)

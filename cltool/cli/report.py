"""`cltool report`: parse options, call `cltool.report.report`, report."""

from __future__ import annotations

from typing import Annotated

import typer

from cltool.cli.common import Json, Quiet, RichReporter, example, print_json

EPILOG = example(
    "cltool report data/filtered -o report.html",
)


def report_command(
    input: Annotated[str, typer.Argument(metavar="DATASET", help="Dataset directory, Parquet file or glob.")],
    output: Annotated[str, typer.Option("--output", "-o", metavar="FILE.html", help="The HTML page to write.")],
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    """Write one self-contained HTML page about a dataset: score distributions and their overlap,
    negatives per anchor, score by rank, hub negatives, duplicate cluster sizes and each step's row
    accounting. Nothing on the page is fetched from the network."""
    from cltool.report import report

    summary = report(input, output)
    RichReporter(quiet).info(f"report: {summary['rows']:,} rows, {summary['plots']} plots -> {summary['output']}")
    if json_out:
        print_json(summary)

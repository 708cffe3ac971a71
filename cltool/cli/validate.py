"""`cltool validate`: parse options, call `cltool.validate.validate`, report; exit 1 on a failed check."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cltool.cli.common import Json, Quiet, example, print_json, stderr

def _checks() -> str:
    from cltool.validate.checks import CHECKS

    return ", ".join(name.replace("_", " ") for name in CHECKS)


EPILOG = example(
    "cltool validate data/mined                                   # every check, default limits",
    "cltool validate data/train --against data/eval --rules rules.toml --junit validate.xml",
    "cltool validate data/mined --limit max_near_duplicate_rate=0.01 --limit min_negatives=1 --json",
    "cltool validate out/train.jsonl                              # an emitted file: the checks that apply to it",
)


def validate_command(
    input: Annotated[str, typer.Argument(metavar="DATASET", help="Dataset directory, Parquet file, glob, -, or a "
                                         "training file cltool emit wrote (.jsonl, .jsonl.gz, .parquet).")],
    rules: Annotated[str | None, typer.Option("--rules", metavar="FILE", help="TOML file: [limits] NAME = VALUE, "
                                              "and checks = [...] to run only some.")] = None,
    limit: Annotated[list[str] | None, typer.Option("--limit", metavar="NAME=VALUE", help="Set one limit (after "
                                                    "--rules); repeatable.")] = None,
    against: Annotated[str | None, typer.Option("--against", metavar="OTHER", help="Check contamination: no anchor "
                                                "or positive shared with this dataset (e.g. the evaluation set), "
                                                "exactly or as a near-duplicate.")] = None,
    junit: Annotated[str | None, typer.Option("--junit", metavar="FILE", help="Also write JUnit XML, one test "
                                              "case per check.")] = None,
    examples: Annotated[int, typer.Option("--examples", min=0, help="Offending rows kept per check.")] = 3,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    """Check a dataset for CI: {checks} (contamination with --against). Exit 0 when every check passes,
    1 when one fails, 2 when the input is unusable.

    A training file that emit wrote is read back: its columns (anchor/positive/negative_N, query/pos/neg,
    labeled pairs or lists) are mapped onto the checks they support, the others are skipped with a note,
    and its lines are checked against the emit manifest beside it.
    """
    from pathlib import Path

    from cltool.dataset.write import write_file_atomically
    from cltool.errors import DataCheckError
    from cltool.validate import junit_xml, load_rules, validate

    report = validate(input, load_rules(rules, limit or []), against=against, examples=examples)
    if junit:
        write_file_atomically(Path(junit), junit_xml(report))
    if not quiet:
        _table(report)
    if json_out:
        print_json(report)
    failed = [c["name"] for c in report["checks"] if c["status"] == "fail"]
    if failed:
        raise DataCheckError(f"{len(failed)} of {len(report['checks'])} checks failed: {', '.join(failed)}",
                             hint="the offending rows are listed above (and in --json)")


# the checks' names from their registry (light: no numpy, no pyarrow), so a new check is listed by itself
validate_command.__doc__ = validate_command.__doc__.replace("{checks}", _checks())


def _table(report: dict[str, Any]) -> None:
    """The checks as a table on stderr: wrapped to a terminal's width, at full width (nothing cut) in a
    pipe or a file, where no terminal wraps lines and a CI log is read whole."""
    from rich.console import Console
    from rich.table import Table

    console = stderr if stderr.is_terminal else Console(stderr=True, highlight=False, soft_wrap=True,
                                                        width=1_000_000)
    short = _short if console.is_terminal else _full
    training = report.get("training_file")
    what = (f"{training['lines']:,} lines of {training['format']}, read as {report['rows']:,} (anchor, positive) pairs"
            if training else f"{report['rows']:,} rows")
    table = Table(title=f"cltool validate {report['dataset']} ({what})", title_justify="left")
    for column in ("check", "status", "value", "limit", "detail"):
        table.add_column(column, overflow="fold")
    colour = {"pass": "green", "fail": "bold red", "skip": "dim"}
    for c in report["checks"]:
        table.add_row(c["name"], f"[{colour[c['status']]}]{c['status']}[/]", short(c["value"]), short(c["limit"]),
                      c["detail"])
    console.print(table)
    if training:
        read_as = ", ".join(f"{k} <- {v}" for k, v in training["read_as"].items())
        console.print(f"read as: {read_as}", markup=False)
        for note in training["notes"]:
            console.print(f"note: {note}", markup=False)
    for c in report["checks"]:
        if c["status"] == "fail" and c["examples"]:
            console.print(f"[bold]{c['name']}[/]: e.g.")
            for e in c["examples"]:
                console.print("  " + ", ".join(f"{k}={v!r}" for k, v in e.items()), markup=False)


def _short(value: Any) -> str:
    text = _full(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _full(value: Any) -> str:
    return str(value) if value is not None else "-"

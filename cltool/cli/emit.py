"""`cltool emit`: parse options, call `cltool.emit.emit`, report."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cltool.cli.common import Json, Quiet, RichReporter, example, run_step, seed_option
from cltool.emit.formats import help_text as formats_help
from cltool.emit.settings import Settings

EPILOG = example(
    "cltool emit data/filtered -o train/data.jsonl                         # n-tuple, for MultipleNegativesRankingLoss",
    "cltool emit data/filtered --format bge --include-scores --split dev=0.05 -o train/{split}.jsonl",
    "cltool emit data/filtered --format labeled-pair --shuffle --max-rows 100000 -o train/pairs.parquet",
)


def emit_command(
    input: Annotated[str, typer.Argument(metavar="INPUT", help="Mined (or filtered) pairs: dataset directory, "
                                         "Parquet file, glob, or -.")],
    output: Annotated[str, typer.Option("--output", "-o", metavar="FILE|-", help="PATH.jsonl, PATH.jsonl.gz or "
                                        "PATH.parquet ({split} in the path names each split's file), or - for "
                                        "JSONL on stdout.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help=formats_help())] = Settings.format,
    num_negatives: Annotated[int | None, typer.Option("--num-negatives", "-n", help="Negatives per anchor "
                                                      "(default: what mine was asked for).")] = None,
    short: Annotated[str, typer.Option("--short", help="Anchors with fewer negatives: fill (from other anchors' "
                                       "positives), drop (to the rejected rows), pairs (a separate anchor, "
                                       "positive file).")] = Settings.short,
    split: Annotated[str | None, typer.Option("--split", metavar="NAME=SHARE,...", help="Held-out splits, e.g. "
                                              "dev=0.05; no anchor or positive text is in two splits.")] = None,
    seed: seed_option("Splits, shuffling and filling") = Settings.seed,
    shuffle: Annotated[bool, typer.Option("--shuffle", help="Shuffle the rows (seeded).")] = False,
    include_scores: Annotated[bool, typer.Option("--include-scores", help="Add the scores (cross-encoder's where "
                                                 "filter computed them) for distillation losses, and beside each "
                                                 "file FILE.hardness.parquet: mine's scores and ranks and the "
                                                 "judges' scores, row for row.")] = False,
    max_rows: Annotated[int | None, typer.Option("--max-rows", help="Emit at most this many pairs (after "
                                                 "--shuffle).")] = None,
    prompt: Annotated[str | None, typer.Option("--prompt", help="bge: the prompt field of every line.")] = None,
    rejected: Annotated[str | None, typer.Option("--rejected", metavar="DIR", help="Where rows not emitted go "
                                                 "(default OUT.rejected beside the file).")] = None,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    """Write training files: sentence-transformers formats (columns in the order its losses take
    them) or FlagEmbedding JSONL, with a grouped, leak-free train/dev split.

    Beside the file go OUT.manifest.json (counts, splits, what was filled or dropped, checksums)
    and, when rows were not emitted, OUT.rejected with their reasons.
    """
    from cltool.emit import emit, parse_split

    settings = Settings(format=fmt, num_negatives=num_negatives, split=parse_split(split), seed=seed,
                        shuffle=shuffle, include_scores=include_scores, max_rows=max_rows, short=short,
                        prompt=prompt)
    run_step("emit", emit, input, output, settings, json_out=json_out, quiet=quiet, rejected=rejected, report=_report)


def _report(manifest: dict[str, Any], reporter: RichReporter) -> None:
    rows, summary = manifest["rows"], manifest["summary"]
    files = ", ".join(f"{f['path']} ({f['rows']:,} rows)" for f in manifest["outputs"])
    reporter.info(f"emit: {rows['input']:,} pairs -> {summary['format']}: {files}")
    if "fill" in summary:  # a warning, not a note: a filled slot holds a random text, not a mined negative
        share = summary["rows_short"] / max(rows["input"], 1)
        reporter.warn(f"{summary['rows_short']:,} rows ({share:.1%}) were short of {summary['num_negatives']} "
                      f"mined negatives: {summary['fill']['negatives_added']:,} slots filled with other anchors' "
                      f"texts, which are random, not hard, negatives ({short_hint(summary)}; --short drop|pairs "
                      f"to leave them out)")
    elif summary.get("rows_short"):
        reporter.info(f"  {summary['rows_short']:,} rows were short of {summary['num_negatives']} mined negatives "
                      f"({short_hint(summary)})")
    reasons = ", ".join(f"{reason} {count:,}" for reason, count in manifest["rejected_by_reason"].items())
    if rows["rejected"]:
        where = manifest.get("rejected_dataset", "not kept")
        reporter.info(f"  {rows['rejected']:,} rows not emitted ({reasons}) -> {where}")
    if rows["pairs_file"]:
        reporter.info(f"  {rows['pairs_file']:,} short rows written as (anchor, positive) pairs")
    reporter.info(f"  {manifest['wall_time_s']:.1f}s")


def short_hint(summary: dict[str, Any]) -> str:
    """Why rows were short of negatives and what fixes it, from the cause emit recorded: mine was run
    with fewer (mine again with -n N), or its rules (the one that removed the most, and its option),
    or filter's judges removed some."""
    from cltool.mine.hints import loosen_hint

    n, cause = summary["num_negatives"], summary.get("short_cause") or {}
    if cause.get("cause") == "mined_fewer":
        if "mined_with" in cause:
            carried = f"mine was run with -n {cause['mined_with']}"
        else:
            carried = f"no row carries more than {cause['most_in_input']}"
        return f"the input carries fewer negatives than -n {n} asks: {carried}; mine again with -n {n}"
    rules = loosen_hint({"removed_by_rule": cause.get("removed_by_rule")})
    advice = f"mine's rules left anchors short: {rules}" if rules else "mine's rules left anchors short"
    if cause.get("cause") == "filtered":
        advice = f"filter removed some as false negatives (refill them with --candidates), or {advice}"
    return f"{advice}; or mine deeper with --max-window"

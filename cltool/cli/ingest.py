"""`cltool ingest`: parse options, call `cltool.ingest.ingest`, report."""

from __future__ import annotations

from typing import Annotated

import typer

from cltool.cli.common import (
    Json,
    OutputOpt,
    Quiet,
    RejectedOpt,
    RichReporter,
    argv,
    example,
    one_thing_on_stdout,
    print_json,
    report_step,
)

EPILOG = example(
    "cltool ingest pairs.jsonl -o data/pairs",
    "cltool ingest train.csv --column anchor=title --column positive=abstract -o data/pairs",
    "cltool ingest beir/scifact --split train -o data/scifact   # pairs + data/scifact-corpus",
    "cltool ingest pairs.jsonl -o - | cltool inspect -",
)


def ingest_command(
    input: Annotated[str, typer.Argument(metavar="INPUT", help="JSONL/CSV/TSV (optionally .gz), Parquet file, glob, "
                                         "cltool dataset, BEIR folder, or - (Arrow stream on stdin).")],
    output: OutputOpt,
    fmt: Annotated[str, typer.Option("--format", "-f", help="auto|jsonl|csv|tsv|parquet|beir (auto: from the name).")] = "auto",
    table: Annotated[str, typer.Option("--table", help="pairs (anchor, positive, ...) or corpus (id, text).")] = "pairs",
    column: Annotated[list[str] | None, typer.Option("--column", "-c", metavar="CANONICAL=SOURCE",
                                                     help="Use SOURCE as the canonical column, e.g. anchor=title. Repeatable.")] = None,
    split: Annotated[str | None, typer.Option("--split", help="BEIR qrels split (default: train, or the only one).")] = None,
    title: Annotated[bool, typer.Option("--title/--no-title", help="BEIR: prepend each document's title to its text.")] = True,
    corpus_output: Annotated[str | None, typer.Option("--corpus-output", metavar="DIR",
                                                      help="BEIR: where the corpus table goes (default OUT-corpus).")] = None,
    rejected: RejectedOpt = None,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    """Bring pairs from JSONL, CSV, TSV, Parquet, sentence-transformers or FlagEmbedding files, or a
    BEIR folder into the canonical pairs table (anchor, positive, ids, negatives).

    Column aliases are recognised (query/question/sentence1 -> anchor; pos/answer/document/sentence2
    -> positive; neg or negative, negative_1, ... -> negatives); a list of positives becomes one row
    per positive; missing ids are derived from the text. Rows with a null or blank anchor or positive
    go to OUT/_rejected with reason empty_text.
    """
    from cltool.dataset.pairs import CORPUS_ALIASES, PAIRS_ALIASES, parse_column_overrides
    from cltool.ingest import ingest

    one_thing_on_stdout(json_out, output)
    allowed = PAIRS_ALIASES if table == "pairs" else CORPUS_ALIASES
    overrides = parse_column_overrides(column or [], allowed)
    reporter = RichReporter(quiet)
    manifests = ingest(input, output, fmt=fmt, table=table, columns=overrides, split=split, title=title,
                       corpus_output=corpus_output, rejected_output=rejected, argv=argv(), reporter=reporter)
    for name, manifest in manifests.items():
        target = output if name == table or name == "pairs" else (corpus_output or f"{output.rstrip('/')}-corpus")
        report_step(f"ingest {name}", manifest, target, reporter)
    if json_out:
        print_json(manifests)

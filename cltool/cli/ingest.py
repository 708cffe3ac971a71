"""`cltool ingest`: parse options, call `cltool.ingest.ingest`, report."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cltool.cli.common import (
    Json,
    OutputOpt,
    Quiet,
    RejectedOpt,
    RichReporter,
    deprecated_alias,
    example,
    report_step,
    run_step,
)

EPILOG = example(
    "cltool ingest pairs.jsonl -o data/pairs",
    "cltool ingest train.csv --column anchor=title --column positive=abstract -o data/pairs",
    "cltool ingest beir/scifact --beir-split train -o data/scifact   # pairs + data/scifact-corpus",
    "cltool ingest pairs.jsonl -o - | cltool inspect -",
    "zcat pairs.csv.gz | cltool ingest - -f csv -o data/pairs   # stdin: JSON lines, CSV, TSV or an Arrow stream",
)


def ingest_command(
    input: Annotated[str, typer.Argument(metavar="INPUT", help="JSONL/CSV/TSV (optionally .gz), Parquet file, glob, "
                                         "cltool dataset, BEIR folder, or - (stdin: JSON lines or an Arrow "
                                         "stream, told by its first bytes; CSV/TSV with -f csv|tsv).")],
    output: OutputOpt,
    fmt: Annotated[str, typer.Option("--format", "-f", help="auto|jsonl|csv|tsv|parquet|beir (auto: from the name; "
                                     "for -, from the first bytes).")] = "auto",
    table: Annotated[str, typer.Option("--table", help="pairs (anchor, positive, ...) or corpus (id, text).")] = "pairs",
    column: Annotated[list[str] | None, typer.Option("--column", "-c", metavar="CANONICAL=SOURCE",
                                                     help="Use SOURCE as the canonical column, e.g. anchor=title. Repeatable.")] = None,
    beir_split: Annotated[str | None, typer.Option("--beir-split", metavar="SPLIT", help="BEIR qrels split "
                                                   "(default: train, or the only one).")] = None,
    split: Annotated[str | None, typer.Option("--split", hidden=True, help="Deprecated: --beir-split.")] = None,
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
    go to OUT.rejected with reason empty_text.
    """
    from cltool.ingest.canonical import CORPUS_ALIASES, PAIRS_ALIASES, parse_column_overrides
    from cltool.ingest import Settings, ingest

    allowed = PAIRS_ALIASES if table == "pairs" else CORPUS_ALIASES
    settings = Settings(format=fmt, table=table, columns=parse_column_overrides(column or [], allowed),
                        beir_split=deprecated_alias("--split", "--beir-split", split, beir_split), title=title)

    def report(manifests: dict[str, Any], reporter: RichReporter) -> None:
        for name, manifest in manifests.items():
            target = output if name == table or name == "pairs" else (corpus_output or f"{output.rstrip('/')}-corpus")
            report_step(f"ingest {name}", manifest, target, reporter)

    run_step("ingest", ingest, input, output, settings, json_out=json_out, quiet=quiet, rejected=rejected,
             report=report, corpus_output=corpus_output)

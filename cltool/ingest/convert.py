"""`cltool ingest`: its settings, and the conversion of a file, dataset or table (BEIR: `beir.py`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import pyarrow as pa

from cltool.dataset.pairs import (
    Canonical,
    canonicalize_corpus,
    canonicalize_pairs,
    corpus_layout,
    pairs_layout,
)
from cltool.dataset.write import Output, check_replaceable
from cltool.errors import UsageError
from cltool.ingest.formats import FORMATS, JsonlSource, detect_format, open_source
from cltool.progress import Reporter
from cltool.step import Run, prepare

TABLES = ("pairs", "corpus")


@dataclass
class Settings:
    format: str = "auto"  # auto: from the file name
    table: str = "pairs"  # pairs (anchor, positive, ...) or corpus (id, text)
    columns: Mapping[str, str] = field(default_factory=dict)  # canonical column -> the input's column
    beir_split: str | None = None  # BEIR: the qrels split (default train, or the only one)
    title: bool = True  # BEIR: prepend each document's title to its text

    def check(self) -> None:
        if self.format not in FORMATS:
            raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {self.format!r}")
        if self.table not in TABLES:
            raise UsageError(f"--table must be one of {', '.join(TABLES)}, not {self.table!r}")


def ingest(
    input: str | pa.Table,
    output: str,
    settings: Settings | None = None,
    run: Run | None = None,
    *,
    corpus_output: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Convert `input` (a file, a dataset, a BEIR folder, `-`, or an Arrow table) into a canonical dataset
    at `output`; return the manifest of each dataset written (`pairs` or `corpus`, and a BEIR folder's both)."""
    settings, run = prepare(settings, Settings, run, output)
    table, columns = settings.table, settings.columns
    resolved = detect_format(input) if settings.format == "auto" else settings.format
    if resolved == "beir":
        from cltool.ingest.beir import ingest_beir

        if table != "pairs":
            raise UsageError("a BEIR folder always gives pairs plus a corpus; leave out --table")
        if output != "-" or corpus_output is not None:  # the corpus is an output too: refused up front
            check_replaceable(Path(corpus_output or f"{output.rstrip('/')}-corpus"), "--corpus-output")
        return ingest_beir(Path(input), output, settings, run, corpus_output=corpus_output)
    if settings.beir_split is not None or corpus_output is not None:
        raise UsageError("--beir-split and --corpus-output apply to BEIR folders only")

    source = open_source(input, resolved, stdin=run.stdin)
    if table == "pairs":
        layout = pairs_layout(source.schema, source.source, columns)
        if isinstance(source, JsonlSource):
            source.check_text(layout.anchor, allow_list=False)
            source.check_text(layout.positive, allow_list=True)
            if layout.negatives:
                source.check_text(layout.negatives, allow_list=True)
        convert = lambda t: canonicalize_pairs(t, layout)  # noqa: E731
        described = {k: v for k, v in vars(layout).items() if v not in (None, [], False)}
    else:
        layout = corpus_layout(source.schema, source.source, columns)
        if isinstance(source, JsonlSource):
            source.check_text(layout.text, allow_list=False)
        convert = lambda t: canonicalize_corpus(t, layout)  # noqa: E731
        described = vars(layout)
    params = {"format": resolved, "table": table, "columns": dict(columns or {})}
    with run.output(output, command="ingest", params=params, inputs=[source]) as out:
        convert_all(out, source.tables(), convert, run.reporter, total=getattr(source, "rows", None),
                    label=f"ingest {table}")
        out.summary["layout"] = described
    return {table: out.manifest}


def convert_all(out: Output, tables: Iterable[pa.Table], convert, reporter: Reporter, total: int | None,
                label: str) -> None:
    """Stream tables through `convert`, writing what it keeps and rejects; record counts and timings."""
    records = rows = blank_negatives = 0
    with reporter.task(label, total=total) as task:
        for table in out.timed("read", tables):
            with out.stage("convert"):
                result: Canonical = convert(table)
            with out.stage("write"):
                out.write(result.kept)
                out.reject(result.rejected)
            out.count_input(result.rows_in)
            records += table.num_rows
            rows += result.rows_in
            blank_negatives += result.dropped_blank_negatives
            task.advance(table.num_rows)
    out.summary.update({"records_read": records, "rows_after_spreading_positives": rows,
                        "blank_negatives_dropped": blank_negatives})

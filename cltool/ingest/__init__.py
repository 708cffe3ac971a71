"""`cltool ingest`: any supported input -> the canonical pairs table (or corpus table)."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any, Iterable, Mapping, Sequence

import pyarrow as pa

from cltool.dataset.pairs import (
    Canonical,
    canonicalize_corpus,
    canonicalize_pairs,
    corpus_layout,
    pairs_layout,
)
from cltool.dataset.write import Output
from cltool.errors import UsageError
from cltool.ingest.formats import FORMATS, JsonlSource, detect_format, open_source
from cltool.progress import NullReporter, Reporter

TABLES = ("pairs", "corpus")


def ingest(
    input: str,
    output: str,
    *,
    fmt: str = "auto",
    table: str = "pairs",
    columns: Mapping[str, str] | None = None,
    split: str | None = None,
    title: bool = True,
    corpus_output: str | None = None,
    rejected_output: str | None = None,
    argv: Sequence[str] | None = None,
    reporter: Reporter | None = None,
    stdin: IO[bytes] | None = None,
    stdout: IO[bytes] | None = None,
) -> dict[str, dict[str, Any]]:
    """Convert `input` into a canonical dataset at `output`; return the manifest of each dataset written."""
    reporter = reporter or NullReporter()
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if table not in TABLES:
        raise UsageError(f"--table must be one of {', '.join(TABLES)}, not {table!r}")
    resolved = detect_format(input) if fmt == "auto" else fmt
    common = dict(argv=argv, rejected_target=rejected_output, stdout=stdout)
    if resolved == "beir":
        from cltool.ingest.beir import ingest_beir

        if table != "pairs":
            raise UsageError("a BEIR folder always gives pairs plus a corpus; leave out --table")
        return ingest_beir(Path(input), output, split=split, title=title, corpus_output=corpus_output,
                           columns=columns, reporter=reporter, **common)
    if split is not None or corpus_output is not None:
        raise UsageError("--split and --corpus-output apply to BEIR folders only")

    source = open_source(input, resolved, stdin=stdin)
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
    with Output(output, command="ingest", params=params, inputs=[source], **common) as out:
        convert_all(out, source.tables(), convert, reporter, total=getattr(source, "rows", None), label=f"ingest {table}")
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

"""`cltool ingest`: its settings, and the conversion of a file, dataset or table (BEIR: `beir.py`)."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import pyarrow as pa

from cltool.dataset.write import Output, check_replaceable
from cltool.errors import InputError, UsageError
from cltool.ingest.canonical import Canonical, canonicalize_corpus, canonicalize_pairs, corpus_layout, pairs_layout
from cltool.ingest.formats import FORMATS, DatasetSource, DelimitedSource, JsonlSource, detect_format, open_source
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
    with ExitStack() as stack:
        if isinstance(input, str) and input == "-":
            fmt, source = _stdin_source(settings.format, run, stack)
        else:
            fmt, source = settings.format if settings.format != "auto" else detect_format(input), None
        return _ingest(input, output, settings, run, fmt, source, corpus_output)


def _stdin_source(fmt: str, run: Run, stack: ExitStack):
    """`-`: an Arrow stream as any step reads it, or JSON lines / CSV / TSV (gzip too) spooled to a
    temporary file and read as a file is; the format from `-f`, or from stdin's first bytes."""
    import sys
    import tempfile

    from cltool.dataset import stdin as piped

    stream = run.stdin if run.stdin is not None else sys.stdin.buffer
    if getattr(stream, "isatty", lambda: False)():
        raise InputError("input is - but stdin is a terminal",
                         hint="pipe something into it: cat pairs.jsonl | cltool ingest - -o DIR")
    head, stream = piped.peek(stream)
    kind = piped.what_is(head)
    if fmt == "auto":
        if kind in (piped.JSONL, piped.GZIP_JSONL):
            fmt = "jsonl"
        elif kind in (piped.TEXT, piped.GZIP_TEXT):
            raise InputError(f"stdin holds {piped.DESCRIPTION[kind]}, and its format cannot be told from a name",
                             hint="say what it is: cltool ingest - -f csv (or -f tsv, -f jsonl) -o DIR")
        elif kind == piped.EMPTY:
            raise InputError("stdin is empty: nothing was piped in", hint="check the command before the |")
        else:
            fmt = "parquet"  # an Arrow stream; anything else is named by the reader of `-`
    if fmt == "beir":
        raise UsageError("a BEIR folder cannot come on stdin", hint="give the folder's path")
    if fmt == "parquet":
        return fmt, DatasetSource("-", stdin=stream)
    if kind == piped.EMPTY:
        raise InputError("stdin is empty: nothing was piped in", hint="check the command before the |")
    if kind in (piped.ARROW, piped.PARQUET, piped.ARROW_FILE, piped.BINARY):
        raise InputError(f"-f {fmt}, but stdin holds {piped.DESCRIPTION.get(kind, 'an Arrow stream')}",
                         hint="leave out -f to read an Arrow stream; a Parquet file is read by its path")
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cltool-stdin-")))
    suffix = {"jsonl": ".jsonl", "csv": ".csv", "tsv": ".tsv"}[fmt]
    spooled = piped.spool(stream, folder, suffix + (".gz" if kind.startswith("gzip") else ""))
    if fmt == "jsonl":
        return fmt, JsonlSource(spooled, source="-")
    return fmt, DelimitedSource(spooled, "," if fmt == "csv" else "\t", source="-")


def _ingest(input, output: str, settings: Settings, run: Run, resolved: str, source,
            corpus_output: str | None) -> dict[str, dict[str, Any]]:
    table, columns = settings.table, settings.columns
    if resolved == "beir":
        from cltool.ingest.beir import ingest_beir

        if table != "pairs":
            raise UsageError("a BEIR folder always gives pairs plus a corpus; leave out --table")
        if output != "-" or corpus_output is not None:  # the corpus is an output too: refused up front
            check_replaceable(Path(corpus_output or f"{output.rstrip('/')}-corpus"), "--corpus-output")
        return ingest_beir(Path(input), output, settings, run, corpus_output=corpus_output)
    if settings.beir_split is not None or corpus_output is not None:
        raise UsageError("--beir-split and --corpus-output apply to BEIR folders only")

    if source is None:
        source = open_source(input, resolved, stdin=run.stdin)
    named = getattr(source, "label", source.source)
    if table == "pairs":
        layout = pairs_layout(source.schema, named, columns)
        if isinstance(source, JsonlSource):
            source.check_text(layout.anchor, allow_list=False)
            source.check_text(layout.positive, allow_list=True)
            if layout.negatives:
                source.check_text(layout.negatives, allow_list=True)
        convert = lambda t: canonicalize_pairs(t, layout)  # noqa: E731
        described = {k: v for k, v in vars(layout).items() if v not in (None, [], False)}
    else:
        layout = corpus_layout(source.schema, named, columns)
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

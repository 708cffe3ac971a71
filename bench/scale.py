"""Benchmark the example chain at growing sizes, and the Ray engine against the local one.

What is measured (issue 8, "Benchmark"):

  a. the example chain (examples/Makefile, examples/pipeline.toml): ingest -> embed -> dedup (exact,
     minhash, semantic, entropy) -> mine -n 3 --save-candidates -> filter (lexical,
     duplicate-cluster) -> emit n-tuple with a dev split -> validate -> report, each step a cltool
     process, at --sizes pairs (default 10,000, 100,000 and 1,000,000) on the local engine: wall
     time and peak RSS per step, so that growth with size is visible;
  b. the steps that have a Ray engine (embed, dedup, mine) at --ray-size pairs (default 100,000)
     with `--engine ray`, on the inputs the local chain used: each process starts a local Ray
     instance with this machine's cores, as a user without a cluster would. Wall time against the
     local step, the driver's peak RSS and the whole process tree's (Ray's raylet and workers
     included), and whether the output's Parquet files are byte-identical to the local engine's.

Data: real text pairs, each a line of Python source or documentation and the line after it (from
the standard library and the installed packages, as in bench/mine_scale.py), with duplicates
planted for dedup to find: 3% of rows repeat an earlier row's positive, 2% repeat it with one word
changed. Embeddings come from `--model static` (cltool's static model, distilled once from the
bundled all-MiniLM-L6-v2 before anything is timed) with --no-cache: MiniLM itself encodes about
60 texts/s on two cores, so the 2M texts of the 1M chain would take 9 hours. The steps after
embed do the same work whichever model made the vectors, apart from their dimension.

Before the timed runs the chain runs once on 2,000 pairs, so Numba's cache is warm.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/scale.py [--sizes 10000,100000,1000000] [--ray-size 100000]
                                                      [--work DIR] [--no-ray]

Nothing is asserted; the summary at the end has one line per step and size.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
from pathlib import Path

from common import manifest_file, rejected_dir, Run, child_env, cltool_command, measure
from mine_scale import line_pairs

EXACT_SHARE, NEAR_SHARE = 0.03, 0.02
WARM_PAIRS = 2_000
RAY_STEPS = ("embed", "dedup", "mine")


def chain(folder: Path) -> list[tuple[str, list[str], str | None]]:
    """(step, cltool arguments, output dataset or None) of the example chain, run in `folder`."""
    return [
        ("ingest", ["ingest", "pairs.jsonl", "-o", "pairs"], "pairs"),
        ("embed", ["embed", "pairs", "--model", "static", "--no-cache", "-o", "embedded"], "embedded"),
        ("dedup", ["dedup", "embedded", "--method", "exact,minhash,semantic,entropy", "--eps", "0.02", "-o",
                   "deduped"], "deduped"),
        ("mine", ["mine", "deduped", "-n", "3", "--save-candidates", "candidates", "-o", "mined"], "mined"),
        ("filter", ["filter", "mined", "--judge", "lexical", "--judge", "duplicate-cluster", "-o", "filtered"],
         "filtered"),
        ("emit", ["emit", "filtered", "--format", "n-tuple", "--split", "dev=0.05", "-o", "{split}.jsonl"], None),
        ("validate", ["validate", "filtered", "--json"], None),
        ("report", ["report", "filtered", "-o", "report.html"], None),
    ]


def write_pairs(path: Path, pairs: int, seed: int = 0) -> dict[str, int]:
    """`pairs` rows of JSONL (anchor, positive) with planted exact and near-duplicate positives."""
    import polars as pl

    anchors, positives = line_pairs(pairs)
    rng = random.Random(seed)
    planted = {"exact": 0, "near": 0}
    for row in range(1, len(positives)):
        draw = rng.random()
        if draw < EXACT_SHARE + NEAR_SHARE:
            source = positives[rng.randrange(row)]
            if draw < EXACT_SHARE:
                positives[row] = source
                planted["exact"] += 1
            else:
                words = source.split()
                words[rng.randrange(len(words))] = "changed"
                positives[row] = " ".join(words)
                planted["near"] += 1
    pl.DataFrame({"anchor": anchors, "positive": positives}).write_ndjson(path)
    return {"pairs": len(anchors), **planted}


def prepare(folder: Path, pairs: int) -> dict[str, int]:
    folder.mkdir(parents=True, exist_ok=True)
    info = folder / "data.json"
    if not info.is_file() or json.loads(info.read_text())["pairs"] != pairs:
        info.write_text(json.dumps(write_pairs(folder / "pairs.jsonl", pairs)))
    return json.loads(info.read_text())


def clear(folder: Path, outputs: list[str]) -> None:
    for name in outputs:  # a dataset and what lies beside it: NAME.manifest.json, NAME.rejected, ...
        for target in [folder / name, *folder.glob(f"{name}.*")]:
            shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink(missing_ok=True)


def run_chain(folder: Path, env: dict[str, str], logs: Path, label: str) -> dict[str, Run]:
    clear(folder, ["pairs", "embedded", "deduped", "candidates", "mined", "filtered", "train", "dev",
                   "emit.manifest.json", "report.html"])
    runs = {}
    for step, args, output in chain(folder):
        command = cltool_command() + args + (["-q"] if step not in ("validate", "report") else [])
        run = measure(f"{label} {step}", command, logs / f"{label}-{step}.log", env=env, cwd=folder,
                      ok=(0, 1) if step == "validate" else (0,))
        if output:
            run.result = json.loads(manifest_file(folder / output).read_text())
        runs[step] = run
    return runs


def output_digests(dataset: Path) -> list[str]:
    """The sha256 of each Parquet file, as the dataset's manifest records them (rejected rows included,
    through the rejected dataset's own manifest)."""
    manifest = json.loads(manifest_file(dataset).read_text())
    digests = [o["sha256"] for o in manifest["outputs"]]
    if manifest.get("rejected_dataset"):
        digests += output_digests(rejected_dir(dataset))
    return digests


def run_ray(folder: Path, env: dict[str, str], logs: Path) -> dict[str, tuple[Run, bool]]:
    """The Ray-engine steps, each on the input its local run had; outputs beside the local ones."""
    runs = {}
    for step, args, output in chain(folder):
        if step not in RAY_STEPS:
            continue
        args = [f"{a}-ray" if a == output else a for a in args]
        if step == "mine":
            args = [f"{a}-ray" if a == "candidates" else a for a in args]
        clear(folder, [f"{output}-ray", "candidates-ray"])
        run = measure(f"ray {step}", cltool_command() + args + ["--engine", "ray", "-q"],
                      logs / f"ray-{step}.log", env=env, cwd=folder, tree=True)
        run.result = json.loads(manifest_file(folder / f"{output}-ray").read_text())
        runs[step] = (run, output_digests(folder / output) == output_digests(folder / f"{output}-ray"))
    return runs


def warm_up(work: Path, env: dict[str, str], logs: Path) -> None:
    """The chain on a small input: builds the static model once and fills Numba's cache."""
    folder = work / "warm"
    prepare(folder, WARM_PAIRS)
    run_chain(folder, env, logs, "warm-up")


def stage_text(run: Run) -> str:
    stages = run.result.get("stages", {})
    return ", ".join(f"{name} {seconds:.1f}" for name, seconds in stages.items()) if stages else ""


def summary(sizes: dict[int, tuple[dict[str, int], dict[str, Run]]], ray_size: int | None,
            ray: dict[str, tuple[Run, bool]], local_at_ray: dict[str, Run] | None) -> list[str]:
    lines = ["", f"local engine, example chain, {os.cpu_count()} cores (wall s / peak RSS MiB per step):"]
    header = f"  {'step':<9}" + "".join(f"{n:>26,}" for n in sizes)
    lines.append(header + "   pairs")
    for step, _, _ in chain(Path(".")):
        cells = "".join(f"{runs[step].wall_s:>15.1f} s {runs[step].peak_rss_mb:>6,.0f} MiB" for _, runs in
                        sizes.values())
        lines.append(f"  {step:<9}{cells}")
    totals = "".join(f"{sum(r.wall_s for r in runs.values()):>15.1f} s "
                     f"{max(r.peak_rss_mb for r in runs.values()):>6,.0f} MiB" for _, runs in sizes.values())
    lines.append(f"  {'total':<9}{totals}   (peak: the largest step)")
    for n, (data, runs) in sizes.items():
        rows = {step: runs[step].result.get("rows", {}) for step in ("dedup", "mine", "filter")}
        lines.append(f"  {n:>9,} pairs: planted {data['exact']:,} exact + {data['near']:,} near copies; dedup removed "
                     f"{rows['dedup'].get('rejected', 0):,}; mine kept {rows['mine'].get('output', 0):,} rows; "
                     f"validate exit {runs['validate'].exit_code}")
        lines.append(f"      stages (s): embed {stage_text(runs['embed'])}; dedup {stage_text(runs['dedup'])}; "
                     f"mine {stage_text(runs['mine'])}")
    if ray and local_at_ray:
        lines += ["", f"ray engine at {ray_size:,} pairs (a local Ray instance started by each process) vs local:"]
        for step, (run, same) in ray.items():
            local = local_at_ray[step]
            lines.append(f"  {step:<6}: ray {run.wall_s:7.1f} s vs local {local.wall_s:7.1f} s = "
                         f"{run.wall_s / local.wall_s:4.2f}x; peak RSS driver {run.peak_rss_mb:,.0f} MiB, process tree "
                         f"{run.tree_peak_mb:,.0f} MiB (local {local.peak_rss_mb:,.0f} MiB); output "
                         f"{'byte-identical' if same else 'DIFFERS'}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--ray-size", type=int, default=100_000)
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--work", type=Path, default=Path("/tmp/cltool-bench-scale"))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    logs = args.work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = child_env(args.work / "cache")
    warm_up(args.work, env, logs)
    results, ray, local_at_ray = {}, {}, None
    for n in sizes:
        folder = args.work / f"pairs-{n}"
        data = prepare(folder, n)
        if data["pairs"] < n:
            print(f"only {data['pairs']:,} pairs found on this machine (asked for {n:,})")
        results[n] = (data, run_chain(folder, env, logs, f"{n:,}"))
        if n == args.ray_size and not args.no_ray:
            local_at_ray = results[n][1]
            ray = run_ray(folder, env, logs)
        print("\n".join(summary(results, args.ray_size, ray, local_at_ray)), flush=True)


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark the compile pause: the first run of `validate`, `dedup` and `mine` with an empty Numba
cache (a fresh installation), the same run warm, and the first run after `cltool warmup`.

For each command, on the example data (the stdlib docstring pairs in examples/, ingested and embedded
with the bundled model once, up front):

  cold     an empty NUMBA_CACHE_DIR: the run compiles every kernel it calls
  warm     the same run again: the kernels load from the cache
  warmed   an empty NUMBA_CACHE_DIR, `cltool warmup` once (its time is printed), then the first run

Target (issue 17): the first run of each command in a fresh environment at most ~3 s slower than a
warm one. Each run is its own process (wall time and peak RSS from os.wait4). Run it with:

    HF_HUB_OFFLINE=1 .venv/bin/python bench/coldstart.py [--workdir DIR]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from common import ROOT, child_env, cltool_command, measure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="cltool-coldstart-"))
    work.mkdir(parents=True, exist_ok=True)
    cltool, logs = cltool_command(), work / "logs"
    logs.mkdir(exist_ok=True)
    env = child_env(work / "cltool-cache")

    def numba(name: str) -> dict[str, str]:
        shutil.rmtree(work / name, ignore_errors=True)
        return {**env, "NUMBA_CACHE_DIR": str(work / name)}

    prepare = numba("numba-prepare")
    measure("ingest", [*cltool, "ingest", str(ROOT / "examples/data/stdlib-docstrings.jsonl.gz"), "--column",
                       "positive=code", "-o", str(work / "pairs"), "-q"], logs / "ingest.log", prepare)
    measure("embed", [*cltool, "embed", str(work / "pairs"), "-o", str(work / "embedded"), "-q"], logs / "embed.log",
            prepare)
    commands = {"validate": ["validate", str(work / "embedded"), "-q"],
                "dedup": ["dedup", str(work / "embedded"), "--method", "exact,minhash,semantic,entropy", "--eps",
                          "0.02", "-o", str(work / "deduped"), "-q"],
                "mine": ["mine", str(work / "embedded"), "-n", "3", "-o", str(work / "mined"), "-q"]}
    rows = []
    for name, command in commands.items():
        fresh = numba(f"numba-{name}")
        cold = measure(f"{name} cold", [*cltool, *command], logs / f"{name}-cold.log", fresh, ok=(0, 1))
        warm = measure(f"{name} warm", [*cltool, *command], logs / f"{name}-warm.log", fresh, ok=(0, 1))
        warmed_env = numba(f"numba-{name}-warmup")
        warmup = measure("warmup", [*cltool, "warmup", "-q"], logs / f"{name}-warmup.log", warmed_env)
        warmed = measure(f"{name} after warmup", [*cltool, *command], logs / f"{name}-warmed.log", warmed_env,
                         ok=(0, 1))
        rows.append((name, cold.wall_s, warm.wall_s, warmed.wall_s, warmup.wall_s, warmed.peak_rss_mb))

    print("\n== compile pause (seconds of wall time; target: first run <= warm + 3 s)")
    print(f"{'command':<10}{'cold':>8}{'warm':>8}{'cold-warm':>11}{'after warmup':>14}{'-warm':>8}{'warmup':>9}"
          f"{'peak MiB':>10}")
    for name, cold, warm, warmed, warmup, peak in rows:
        print(f"{name:<10}{cold:>8.1f}{warm:>8.1f}{cold - warm:>11.1f}{warmed:>14.1f}{warmed - warm:>8.1f}"
              f"{warmup:>9.1f}{peak:>10,.0f}")


if __name__ == "__main__":
    main()

"""Benchmark the compile pause: the first run of `validate`, `dedup` and `mine` with an empty Numba
cache, the same run warm, and the first run after `pip install` of a wheel built as `make wheel` does.

For each command, on the example data (the stdlib docstring pairs in examples/, ingested and embedded
with the bundled model once, up front):

  cold     an empty NUMBA_CACHE_DIR: the run compiles every kernel it calls
  warm     the same run again: the kernels load from the cache
  wheel    the first run from a wheel built as `make wheel` builds it (`cltool warmup` compiles the
           kernels into the source tree, once; its time is printed) and installed at another path

Target (issue 17): the first run of each command in a fresh environment at most ~3 s slower than a
warm one. Each run is its own process (wall time and peak RSS from os.wait4). Run it with:

    HF_HUB_OFFLINE=1 .venv/bin/python bench/coldstart.py [--workdir DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
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
    site = install_wheel(work, logs, env)
    installed = {k: v for k, v in env.items() if k != "NUMBA_CACHE_DIR"} | {"PYTHONPATH": str(site)}
    rows = []
    for name, command in commands.items():
        fresh = numba(f"numba-{name}")
        cold = measure(f"{name} cold", [*cltool, *command], logs / f"{name}-cold.log", fresh, ok=(0, 1))
        warm = measure(f"{name} warm", [*cltool, *command], logs / f"{name}-warm.log", fresh, ok=(0, 1))
        wheel = measure(f"{name} first run from the wheel", [*cltool, *command], logs / f"{name}-wheel.log",
                        installed, ok=(0, 1), cwd=work)
        rows.append((name, cold.wall_s, warm.wall_s, wheel.wall_s, wheel.peak_rss_mb))

    print("\n== compile pause (seconds of wall time; target: first run <= warm + 3 s)")
    print(f"{'command':<10}{'cold':>8}{'warm':>8}{'cold-warm':>11}{'from wheel':>12}{'-warm':>8}{'peak MiB':>10}")
    for name, cold, warm, wheel, peak in rows:
        print(f"{name:<10}{cold:>8.1f}{warm:>8.1f}{cold - warm:>11.1f}{wheel:>12.1f}{wheel - warm:>8.1f}{peak:>10,.0f}")


def install_wheel(work: Path, logs: Path, env: dict[str, str]) -> Path:
    """What `make wheel` does, from a copy of the source tree (warmup compiles into the kernels'
    __pycache__, pip builds the wheel), then `pip install --target`: a fresh installation at another
    path whose first runs must load, not compile. Returns the installation's folder."""
    source, site = work / "wheel-source", work / "site"
    for path in (source, site, work / "dist"):
        shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(ROOT / "cltool", source / "cltool", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    build = {k: v for k, v in env.items() if k not in ("NUMBA_CACHE_DIR", "NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES")}
    warmup = measure("warmup into the source tree (once, at release)", [*cltool_command(), "warmup", "-q"],
                     logs / "wheel-warmup.log", build | {"PYTHONPATH": str(source)}, cwd=work)
    print(f"    warmup: {warmup.wall_s:.1f} s")
    measure("pip wheel", [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                          str(work / "dist"), str(source)], logs / "wheel.log", build, cwd=work)
    wheel = next((work / "dist").glob("cltool-*.whl"))
    measure("pip install --target", [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                                     str(site), str(wheel)], logs / "install.log", build, cwd=work)
    return site

if __name__ == "__main__":
    main()

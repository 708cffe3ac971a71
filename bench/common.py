"""What every benchmark shares: running a tool in its own process and measuring it.

Benchmarks are run as scripts (`python bench/NAME.py`), so this module is imported as `common`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = "_manifest.json"


@dataclass
class Run:
    """One measured subprocess: its wall time, CPU time, peak RSS, and the manifest or result it wrote."""

    label: str
    wall_s: float
    cpu_s: float  # user + system
    peak_rss_mb: float
    result: dict[str, Any] = field(default_factory=dict)


def child_env(cache_dir: Path) -> dict[str, str]:
    """The environment of a measured process: offline, quiet, its own cache, no CLTOOL_ defaults."""
    env = {k: v for k, v in os.environ.items() if k not in ("CLTOOL_MODEL", "CLTOOL_DEVICE", "CLTOOL_THREADS")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HUB_DISABLE_PROGRESS_BARS="1",
               TOKENIZERS_PARALLELISM="false", CLTOOL_CACHE_DIR=str(cache_dir))
    return env


def measure(label: str, command: list[str], log: Path, env: dict[str, str] | None = None) -> Run:
    """Run `command` to completion; wall time and peak RSS (os.wait4's ru_maxrss) of that process alone."""
    print(f"[{time.strftime('%H:%M:%S')}] {label}: {' '.join(command)}  (load average {os.getloadavg()[0]:.2f})",
          flush=True)
    with open(log, "wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"{label} failed with exit {code}; end of {log}:\n{tail}")
    run = Run(label, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)  # ru_maxrss: KiB on Linux
    print(f"    {wall:.1f} s wall, {run.cpu_s:.1f} s CPU, peak RSS {run.peak_rss_mb:,.0f} MiB", flush=True)
    return run


def cltool_command() -> list[str]:
    script = Path(sys.executable).parent / "cltool"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "cltool"]

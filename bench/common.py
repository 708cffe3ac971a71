"""What every benchmark shares: running a tool in its own process and measuring it.

Benchmarks are run as scripts (`python bench/NAME.py`), so this module is imported as `common`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
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
    tree_peak_mb: float | None = None  # with measure(tree=True): the peak of the whole process tree's PSS
    exit_code: int = 0


def child_env(cache_dir: Path) -> dict[str, str]:
    """The environment of a measured process: offline, quiet, its own cache, no CLTOOL_ defaults."""
    env = {k: v for k, v in os.environ.items() if k not in ("CLTOOL_MODEL", "CLTOOL_DEVICE", "CLTOOL_THREADS")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HUB_DISABLE_PROGRESS_BARS="1",
               TOKENIZERS_PARALLELISM="false", CLTOOL_CACHE_DIR=str(cache_dir))
    return env


def measure(label: str, command: list[str], log: Path, env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,),
            tree: bool = False, cwd: Path | None = None) -> Run:
    """Run `command` to completion; wall time and peak RSS (os.wait4's ru_maxrss) of that process alone.

    With `tree`, the process and all its descendants (Ray's raylet and workers, which the process
    does not wait for) are also sampled twice a second, and the peak of their summed PSS is kept:
    PSS splits shared pages (Ray's object store) among the processes that map them, so the sum
    counts them once. Sampling can miss a peak shorter than half a second."""
    print(f"[{time.strftime('%H:%M:%S')}] {label}: {' '.join(command)}  (load average {os.getloadavg()[0]:.2f})",
          flush=True)
    with open(log, "wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd or ROOT)
        sampler = _TreeSampler(process.pid) if tree else None
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in ok:
        tail = log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"{label} failed with exit {code}; end of {log}:\n{tail}")
    run = Run(label, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,  # ru_maxrss: KiB on Linux
              tree_peak_mb=sampler.stop() if sampler else None, exit_code=code)
    tree_text = f", process tree peak PSS {run.tree_peak_mb:,.0f} MiB" if sampler else ""
    print(f"    {wall:.1f} s wall, {run.cpu_s:.1f} s CPU, peak RSS {run.peak_rss_mb:,.0f} MiB{tree_text}", flush=True)
    return run


class _TreeSampler:
    """Samples the summed PSS (from /proc, Linux) of a process and its descendants in a thread."""

    def __init__(self, pid: int, every_s: float = 0.5):
        self.pid, self.every_s, self.peak_kb = pid, every_s, 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                parent = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry))
        found, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(children.get(pid, []))
        return found

    @staticmethod
    def _pss_kb(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    return int(line.split()[1])
        except (OSError, ValueError):
            pass
        return 0

    def _run(self) -> None:
        while not self._done.wait(self.every_s):
            self.peak_kb = max(self.peak_kb, sum(self._pss_kb(pid) for pid in self._tree()))

    def stop(self) -> float:
        self._done.set()
        self._thread.join()
        return self.peak_kb / 1024


def cltool_command() -> list[str]:
    script = Path(sys.executable).parent / "cltool"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "cltool"]

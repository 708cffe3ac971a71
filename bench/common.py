"""What every benchmark shares: running a tool in its own process and measuring it.

Benchmarks are run as scripts (`python bench/NAME.py`), so this module is imported as `common`.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def manifest_file(directory: Path | str) -> Path:
    """Where a cltool dataset's manifest is: NAME.manifest.json beside NAME/ (inside it for old outputs)."""
    from cltool.dataset.manifest import manifest_path

    return manifest_path(directory)


def rejected_dir(directory: Path | str) -> Path:
    """Where a cltool dataset keeps the rows its step removed."""
    from cltool.dataset.manifest import read_manifest, rejected_path

    return rejected_path(directory, read_manifest(directory))
DEBIAN_LISTS = Path("/var/lib/apt/lists")


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
    env = {k: v for k, v in os.environ.items() if k not in ("CLTOOL_MODEL", "CLTOOL_DEVICE", "CLTOOL_THREADS",
                                                                  "CLTOOL_BACKEND")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HUB_DISABLE_PROGRESS_BARS="1",
               TOKENIZERS_PARALLELISM="false", CLTOOL_CACHE_DIR=str(cache_dir))
    return env


# Linux folds the memory high-water mark of the process that calls exec into the new program's
# ru_maxrss, and a forked child starts with its parent's: a command started from this process
# would report at least this process's own peak (the data a benchmark generated, an in-process
# exhaustive search). So each command is started by a small launcher that forks it, waits for it
# and writes its rusage: the command's peak is its own (floor: the launcher's ~10 MiB).
_LAUNCHER = """
import json, os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    except OSError as error:
        print(f"cannot run {sys.argv[2]}: {error}", file=sys.stderr, flush=True)
    os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    json.dump({"wall": time.perf_counter() - started, "code": os.waitstatus_to_exitcode(status),
               "cpu": usage.ru_utime + usage.ru_stime, "maxrss_kb": usage.ru_maxrss}, out)
"""


def measure(label: str, command: list[str], log: Path, env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,),
            tree: bool = False, cwd: Path | None = None) -> Run:
    """Run `command` to completion; wall time and peak RSS (os.wait4's ru_maxrss) of that process alone,
    started through _LAUNCHER so that this process's own memory is not counted in it.

    With `tree`, the process and all its descendants (Ray's raylet and workers, which the process
    does not wait for) are also sampled twice a second, and the peak of their summed PSS is kept:
    PSS splits shared pages (Ray's object store) among the processes that map them, so the sum
    counts them once. Sampling can miss a peak shorter than half a second."""
    print(f"[{time.strftime('%H:%M:%S')}] {label}: {' '.join(command)}  (load average {os.getloadavg()[0]:.2f})",
          flush=True)
    usage_file = log.with_name(log.name + ".rusage.json")
    with open(log, "wb") as out:
        launcher = subprocess.Popen([sys.executable, "-I", "-S", "-c", _LAUNCHER, str(usage_file), *command], env=env,
                                    stdout=out, stderr=subprocess.STDOUT, cwd=cwd or ROOT)
        sampler = _TreeSampler(launcher.pid) if tree else None
        launcher.wait()
    if launcher.returncode != 0 or not usage_file.exists():
        raise SystemExit(f"{label}: could not start {command[0]} (launcher exit {launcher.returncode})")
    usage = json.loads(usage_file.read_text())
    usage_file.unlink()
    code, wall = usage["code"], usage["wall"]
    if code not in ok:
        tail = log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"{label} failed with exit {code}; end of {log}:\n{tail}")
    run = Run(label, wall, usage["cpu"], usage["maxrss_kb"] / 1024,  # ru_maxrss: KiB on Linux
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


def debian_descriptions() -> list[tuple[str, str | None]]:
    """Debian's package descriptions: each short description and the first paragraph of its long one
    (None when it has none), in the lists' order (apt-get update -o Acquire::Languages=en fetches
    them); empty without the lists."""
    found = []
    for path in sorted(DEBIAN_LISTS.glob("*_i18n_Translation-en*")):
        if path.suffix == ".lz4":
            raw = subprocess.run(["lz4cat", str(path)], capture_output=True, check=True).stdout
        elif path.suffix == ".gz":
            raw = gzip.decompress(path.read_bytes())
        else:
            raw = path.read_bytes()
        for block in raw.decode("utf-8", errors="replace").split("\n\n"):
            short, paragraph = None, []
            for line in block.split("\n"):
                if line.startswith("Description-en: "):
                    short = line[len("Description-en: "):]
                elif short is not None and line.startswith(" "):
                    if line.strip() == ".":
                        break
                    paragraph.append(line.strip())
            if short:
                found.append((short, " ".join(paragraph) or None))
    return found


def debian_texts() -> list[str]:
    """Every short description and first paragraph of `debian_descriptions`, one text each."""
    return [text for short, paragraph in debian_descriptions() for text in (short, paragraph) if text]

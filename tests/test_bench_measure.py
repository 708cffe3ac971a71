"""The benchmarks' peak memory is the measured command's own: Linux hands a forked child its parent's
high-water mark, so without bench/common.py's launcher every tool would report at least the
benchmark process's own peak (the data it generated, an in-process exhaustive search)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def bench_common():
    spec = importlib.util.spec_from_file_location("bench_common", ROOT / "bench" / "common.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss semantics are Linux's")
def test_a_command_reports_its_own_peak_not_the_benchmark_process(tmp_path):
    common = bench_common()
    held = np.ones(512 * 2**20 // 8)  # this process's peak is now at least 512 MiB
    held[::512] = 2.0
    small = common.measure("small", [sys.executable, "-c", "pass"], tmp_path / "small.log")
    large = common.measure("large", [sys.executable, "-c", "import numpy as np; a = np.ones(256 * 2**20 // 8); "
                                     "a[::512] = 2.0"], tmp_path / "large.log")
    del held
    assert small.peak_rss_mb < 128
    assert 256 <= large.peak_rss_mb < 512
    assert small.exit_code == large.exit_code == 0


def test_a_command_that_fails_or_cannot_start_is_reported(tmp_path):
    common = bench_common()
    with pytest.raises(SystemExit, match="failed with exit 3"):
        common.measure("fails", [sys.executable, "-c", "import sys; sys.exit(3)"], tmp_path / "fails.log")
    with pytest.raises(SystemExit, match="failed with exit 127"):
        common.measure("missing", [str(tmp_path / "no-such-program")], tmp_path / "missing.log")
    assert "cannot run" in (tmp_path / "missing.log").read_text()
    killed = common.measure("killed", [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"],
                            tmp_path / "killed.log", ok=(-9,))
    assert killed.exit_code == -9

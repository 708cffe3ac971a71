"""No compile pause after installation: `cltool warmup` compiles every kernel signature the commands
use into Numba's cache beside the kernels' source, a wheel built from that tree carries it, and after
`pip install` of that wheel somewhere else, validate, dedup, mine and filter load all their kernels
from it and compile none (a count, not a timing)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from cltool.kernels import target

ROOT = Path(__file__).resolve().parents[2]

# run a command in-process, then print what its kernels did: loaded from the cache or compiled, and where
PROBE = """
import json, sys
from cltool.cli.app import main
from cltool.kernels.warmup import dispatchers
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps({name: {"loaded": sum(d.stats.cache_hits.values()), "compiled": sum(d.stats.cache_misses.values()),
                         "cache": d._cache.cache_path}
                  for name, d in dispatchers().items() if d.stats.cache_hits or d.stats.cache_misses}))
"""


def test_a_wheel_built_after_warmup_runs_every_command_without_compiling(chain, tmp_path):
    """From an empty cache (a fresh source tree): warmup compiles into the tree, the wheel built from
    it is installed at another path, and the commands run from there compile nothing."""
    # every process runs in tmp_path: `python -m` and `-c` put the working directory first on sys.path
    source = tmp_path / "source"
    shutil.copytree(ROOT / "cltool", source / "cltool", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    env = {k: v for k, v in os.environ.items()
           if k not in ("NUMBA_CACHE_DIR", "NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES", "CLTOOL_NATIVE_KERNELS")}
    env["HF_HUB_OFFLINE"] = "1"
    # compiling everything from nothing: ~50 s on 2 cores, more on a slower CPU
    warmed = subprocess.run([sys.executable, "-m", "cltool", "warmup", "--json"], capture_output=True,
                            env={**env, "PYTHONPATH": str(source)}, cwd=tmp_path, timeout=600)
    assert warmed.returncode == 0, warmed.stderr
    result = json.loads(warmed.stdout)
    assert result["kernels"] >= 20 and result["compiled"] >= 15 and result["loaded"] == 0
    assert result["cache"] == [str(source / "cltool" / "kernels" / "__pycache__")]
    if target.host_has_portable_features():  # a cache another CPU model can load, not this one's alone
        assert result["cpu"] == target.PORTABLE_CPU

    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                            str(tmp_path / "dist"), str(source)], capture_output=True, env=env, timeout=300)
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "dist").glob("cltool-*.whl"))
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                                str(tmp_path / "site"), str(wheel)], capture_output=True, env=env, timeout=300)
    assert installed.returncode == 0, installed.stderr
    site = tmp_path / "site"
    assert list((site / "cltool" / "kernels" / "__pycache__").glob("*.nbc")), "the wheel carries no kernels"

    commands = [["validate", str(chain / "mined"), "--against", str(chain / "pairs")],
                ["dedup", str(chain / "embedded"), "--method", "exact,minhash,semantic,entropy", "-o",
                 str(tmp_path / "deduped")],
                ["mine", str(chain / "embedded"), "--save-candidates", str(tmp_path / "candidates"), "-o",
                 str(tmp_path / "mined")],
                ["filter", str(tmp_path / "mined"), "--candidates", str(tmp_path / "candidates"), "--min-negatives",
                 "3", "--pair-judge", "consistency", "--pair-judge", "anchor-consistency", "-o",
                 str(tmp_path / "filtered")]]
    for command in commands:
        probe = subprocess.run([sys.executable, "-c", PROBE, *command, "-q"], capture_output=True, timeout=300,
                               env={**env, "PYTHONPATH": str(site)}, cwd=tmp_path)
        kernels = json.loads(probe.stdout.decode().strip().splitlines()[-1])
        assert kernels, f"{command[0]} used no kernel: {probe.stderr.decode()}"
        compiled = {name: use["compiled"] for name, use in kernels.items() if use["compiled"]}
        assert not compiled, f"{command[0]} compiled {compiled} from the installed wheel"
        assert {use["cache"] for use in kernels.values()} == {str(site / "cltool" / "kernels" / "__pycache__")}

"""`cltool warmup` compiles every kernel signature the commands use: after it, validate, dedup, mine
and filter load all their kernels from Numba's cache and compile none (a count, not a timing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

# run a command in-process, then print what its kernels did: loaded from the cache or compiled
PROBE = """
import json, sys
from cltool.cli.app import main
from cltool.kernels.warmup import dispatchers
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps({name: {"loaded": sum(d.stats.cache_hits.values()), "compiled": sum(d.stats.cache_misses.values())}
                  for name, d in dispatchers().items() if d.stats.cache_hits or d.stats.cache_misses}))
"""


def test_after_warmup_every_command_loads_its_kernels_from_the_cache(chain, tmp_path):
    """From an empty cache (a fresh installation): warmup compiles, then the commands compile nothing."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    # compiling everything from nothing: ~50 s on 2 cores, more on a slower CPU
    warmed = subprocess.run([sys.executable, "-m", "cltool", "warmup", "--json"], capture_output=True, env=env,
                            timeout=600)
    assert warmed.returncode == 0, warmed.stderr
    result = json.loads(warmed.stdout)
    assert result["kernels"] >= 20 and result["compiled"] >= 15 and result["loaded"] == 0
    assert result["cache"][0].startswith(str(tmp_path / "numba"))
    commands = [["validate", str(chain / "mined"), "--against", str(chain / "pairs")],
                ["dedup", str(chain / "embedded"), "--method", "exact,minhash,semantic,entropy", "-o",
                 str(tmp_path / "deduped")],
                ["mine", str(chain / "embedded"), "--save-candidates", str(tmp_path / "candidates"), "-o",
                 str(tmp_path / "mined")],
                ["filter", str(tmp_path / "mined"), "--candidates", str(tmp_path / "candidates"), "--min-negatives",
                 "3", "-o", str(tmp_path / "filtered")]]
    for command in commands:
        probe = subprocess.run([sys.executable, "-c", PROBE, *command, "-q"], capture_output=True, timeout=300,
                               env=env)
        kernels = json.loads(probe.stdout.decode().strip().splitlines()[-1])
        assert kernels, f"{command[0]} used no kernel: {probe.stderr.decode()}"
        compiled = {name: use["compiled"] for name, use in kernels.items() if use["compiled"]}
        assert not compiled, f"{command[0]} compiled {compiled} after warmup"

"""A kernel that has to be compiled (not in Numba's cache) is said once, not left as a silent pause;
a kernel loaded from the cache says nothing."""

import os
import subprocess
import sys

from tests.conftest import run_cltool, write_jsonl

NOTICE = "compiling cltool's Numba kernels for this machine"


def test_the_first_compile_is_said_and_a_cached_kernel_is_not(tmp_path):
    write_jsonl(tmp_path / "pairs.jsonl", ({"anchor": f"question {i}", "positive": f"answer {i} and more words"}
                                           for i in range(50)))
    assert run_cltool("ingest", str(tmp_path / "pairs.jsonl"), "-o", str(tmp_path / "pairs")).returncode == 0
    command = [sys.executable, "-m", "cltool", "dedup", str(tmp_path / "pairs"), "--method", "minhash"]
    # an empty cache: the notice comes before the compile pause (the run is stopped once it has)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    proc = subprocess.Popen([*command, "-o", str(tmp_path / "cold")], stderr=subprocess.PIPE, env=env, text=True)
    try:
        said = next((line for line in proc.stderr if NOTICE in line), None)
    finally:
        proc.kill()
        proc.wait()
    assert said is not None and "cltool warmup" in said
    # the suite's cache has the kernels (make setup runs cltool warmup): nothing to say
    warm = run_cltool(*command[3:], "-o", str(tmp_path / "warm"))
    assert warm.returncode == 0 and NOTICE not in warm.stderr.decode()

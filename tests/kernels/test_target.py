"""The kernels' CPU target: x86-64-v3 where the machine has it (a cache that loads on other CPU
models), the exact CPU when asked, and a target the user set is left alone."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cltool.kernels import target

# what the kernels of a fresh process are compiled for
PROBE = ("import cltool.kernels; from cltool.kernels.warmup import compiled_for; import llvmlite.binding as llvm; "
         "print(compiled_for(), llvm.get_host_cpu_name())")


def compiled_for(**env: str) -> tuple[str, str]:
    base = {k: v for k, v in os.environ.items()
            if k not in ("NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES", "CLTOOL_NATIVE_KERNELS")}
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env={**base, **env},
                         timeout=120, check=True).stdout.split()
    return out[0], out[1]


@pytest.mark.skipif(not target.host_has_portable_features(), reason="this CPU lacks x86-64-v3")
def test_the_kernels_target_the_portable_cpu_unless_told_otherwise():
    assert compiled_for()[0] == target.PORTABLE_CPU
    name, host = compiled_for(CLTOOL_NATIVE_KERNELS="1")
    assert name == host != target.PORTABLE_CPU
    assert compiled_for(NUMBA_CPU_NAME="x86-64-v2", NUMBA_CPU_FEATURES="")[0] == "x86-64-v2"

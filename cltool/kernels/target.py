"""The CPU the kernels are compiled for: x86-64-v3 (AVX2, FMA) wherever the machine has it.

Numba keys each cached kernel by the CPU it was compiled for. Compiled for the exact host (e.g.
`znver4` with its AVX-512 features), a cache built by `cltool warmup` or shipped in the wheel loads
only on that very CPU model, and every other machine pays the compile pause (~15 s per command) on
its first run. Compiled for the x86-64-v3 level that every x86 server CPU since 2015 has, one cache
serves them all; the kernels are memory- and branch-bound: on 67k Debian pairs, mine and dedup ran
as fast as with AVX-512 code for znver4. Set here, before Numba is imported: it reads these once.

CLTOOL_NATIVE_KERNELS=1 compiles for the exact host instead; NUMBA_CPU_NAME, when set, is left alone.
"""

from __future__ import annotations

import os
import platform
import sys

PORTABLE_CPU = "x86-64-v3"
# LLVM's names for what x86-64-v3 requires beyond x86-64 (v2's and v3's levels)
PORTABLE_FEATURES = ("cx16", "sahf", "popcnt", "sse3", "sse4.1", "sse4.2", "ssse3",
                     "avx", "avx2", "bmi", "bmi2", "f16c", "fma", "lzcnt", "movbe", "xsave")


def host_has_portable_features() -> bool:
    """Whether this machine runs x86-64-v3 code (llvmlite is Numba's own dependency)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    import llvmlite.binding as llvm

    features = llvm.get_host_cpu_features()
    return all(features.get(name, False) for name in PORTABLE_FEATURES)


def choose() -> str | None:
    """Set Numba's CPU target to PORTABLE_CPU where the host has its features and nothing has chosen
    one; returns the CPU name the kernels will be compiled for (None: the host's own)."""
    if "NUMBA_CPU_NAME" in os.environ:
        return os.environ["NUMBA_CPU_NAME"]
    if "numba" in sys.modules or os.environ.get("CLTOOL_NATIVE_KERNELS", "") not in ("", "0"):
        return None  # too late (Numba has read its settings) or asked not to
    if not host_has_portable_features():
        return None
    os.environ["NUMBA_CPU_NAME"] = PORTABLE_CPU
    os.environ["NUMBA_CPU_FEATURES"] = ""  # the CPU name's own features, not the host's
    return PORTABLE_CPU

"""cltool: training-ready contrastive-learning data from raw text pairs."""

import os

# After each call, OpenBLAS's worker threads spin for about 2^28 cycles. Search alternates a BLAS
# product with a Numba kernel, and on a small machine the spinning threads took the cores from it:
# the IVF scan ran 4x slower. OpenBLAS reads this once, when numpy loads, so it is set here; a value
# the user set wins. (OpenMP's spinning is handled in cltool.kernels.openmp.)
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

__version__ = "0.1.0"

import time  # noqa: E402

# When this process began running cltool, as near as Python lets us know: a command's wall time and its
# "start-up" stage (imports, before the step begins) count from here, so that they add up to what the
# user's `time` shows.
PROCESS_STARTED = time.perf_counter()

"""The Numba scoring core: top-k over score blocks, positive-aware filtering and sampling,
MinHash signatures and banding, Jaccard verification, union-find.

Every kernel is a plain function over NumPy arrays compiled with `@njit(cache=True, nogil=True)`
and tested against a slow NumPy reference. Nothing here is imported on the start-up path of a
command that does not use it (importing numba costs ~0.4 s).
"""

import os

# Numba's thread pool is OpenMP's, whose idle threads spin after each parallel kernel and slowed
# the BLAS product that follows by half (mine's IVF scan). libgomp reads this when Numba first
# starts its pool, after this import. Only commands that run kernels import this package, so
# `cltool embed` keeps OpenMP's default, which torch's many short parallel regions are faster with.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

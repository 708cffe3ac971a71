"""The Numba scoring core: top-k over score blocks, positive-aware filtering and sampling,
MinHash signatures and banding, Jaccard verification, union-find.

Every kernel is a plain function over NumPy arrays compiled with `@njit(cache=True, nogil=True)`
and tested against a slow NumPy reference. Nothing here is imported on the start-up path of a
command that does not use it (importing numba costs ~0.4 s).
"""

from cltool.kernels import openmp  # noqa: F401  (OpenMP's wait policy, before Numba's pool starts)
from cltool.kernels import target

target.choose()  # before any kernel module imports Numba

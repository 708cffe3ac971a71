"""The Numba scoring core: top-k over score blocks, positive-aware filtering and sampling,
MinHash signatures and banding, Jaccard verification, union-find.

Every kernel is a plain function over NumPy arrays compiled with `@njit(cache=True, nogil=True)`
and tested against a slow NumPy reference. Each kernel module imports `setup` first (OpenMP's wait
policy, the CPU the kernels are compiled for), before Numba. Nothing here is imported on the
start-up path of a command that does not use it (importing numba costs ~0.4 s).
"""

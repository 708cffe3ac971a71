"""Set before Numba starts its thread pool: imported by `setup`, which every kernel module imports first."""

import os

# Numba's thread pool is OpenMP's, whose idle threads spin after each parallel kernel and slowed
# the BLAS product that follows by half (mine's IVF scan). libgomp reads this when Numba first
# starts its pool, after this import. Only commands that run kernels import this package, so
# `cltool embed` keeps OpenMP's default, which torch's many short parallel regions are faster with.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

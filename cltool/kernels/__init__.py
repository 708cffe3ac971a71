"""The Numba scoring core: top-k over score blocks, positive-aware filtering and sampling,
MinHash signatures and banding, Jaccard verification, union-find.

Every kernel is a plain function over NumPy arrays compiled with `@njit(cache=True, nogil=True)`
and tested against a slow NumPy reference. Nothing here is imported on the start-up path of a
command that does not use it (importing numba costs ~0.4 s).
"""

from cltool.kernels import openmp  # noqa: F401  (OpenMP's wait policy, before Numba's pool starts)
from cltool.kernels import target

target.choose()  # before any kernel module imports Numba


def _say_the_first_compile() -> None:
    """A kernel missing from Numba's cache is compiled on its first call: 10-30 s of one command's
    first run, said once per process rather than left as a silent pause (a cache load says nothing)."""
    from numba.core import event

    from cltool import progress

    class FirstCompile(event.Listener):
        said = False

        def on_start(self, ev) -> None:
            dispatcher = (ev.data or {}).get("dispatcher")
            ours = getattr(getattr(dispatcher, "py_func", None), "__module__", "").startswith(__name__)
            reporter = progress.process_reporter()
            if ours and not self.said and reporter is not None:
                self.said = True
                reporter.info("compiling cltool's Numba kernels for this machine: a one-time pause of 10-30 s "
                              "(`cltool warmup` does it ahead of time)")

        def on_end(self, ev) -> None:
            pass

    event.register("numba:compile", FirstCompile())


_say_the_first_compile()

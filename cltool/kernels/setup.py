"""What the kernels need set before Numba is imported; every kernel module imports this first.

- OpenMP's wait policy (`openmp`), read when Numba starts its thread pool;
- the CPU the kernels are compiled for (`target.choose`), read once when Numba is imported;
- a notice of the first compile: a kernel missing from Numba's cache is compiled on its first call,
  10-30 s of one command's first run, said once per process rather than left as a silent pause (a
  cache load says nothing).

Importing this module imports Numba (to register the notice). Anything outside `cltool/kernels/`
that imports Numba imports this module first.
"""

from cltool.kernels import openmp  # noqa: F401  (OpenMP's wait policy, before Numba's pool starts)
from cltool.kernels import target

target.choose()  # before anything here imports Numba


def _say_the_first_compile() -> None:
    from numba.core import event

    from cltool import progress

    class FirstCompile(event.Listener):
        said = False

        def on_start(self, ev) -> None:
            dispatcher = (ev.data or {}).get("dispatcher")
            ours = getattr(getattr(dispatcher, "py_func", None), "__module__", "").startswith(__package__)
            reporter = progress.process_reporter()
            if ours and not self.said and reporter is not None:
                self.said = True
                reporter.info("compiling cltool's Numba kernels for this machine: a one-time pause of 10-30 s "
                              "(`cltool warmup` does it ahead of time)")

        def on_end(self, ev) -> None:
            pass

    event.register("numba:compile", FirstCompile())


_say_the_first_compile()

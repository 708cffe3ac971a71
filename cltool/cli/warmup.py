"""`cltool warmup`: compile the Numba kernels into their cache, once per installation."""

from __future__ import annotations

from typing import Annotated

from cltool.cli.common import Json, Quiet, example, print_json, stderr

EPILOG = example(
    "pip install cltool && cltool warmup     # in a CI image's build: no run pays the compile pause",
    "cltool warmup --json | jq '.compiled'",
)


def warmup_command(json_out: Json = False, quiet: Quiet = False) -> None:
    """Compile every Numba kernel cltool uses into Numba's cache, so that no command pays the
    compile pause (15-30 s on the first run of validate, dedup or mine in a fresh installation).
    Run it once where cltool is installed: a CI image's build, a cluster's node set-up. A wheel built
    by `make wheel` already carries them, for the Numba and Python it was built with, on any x86-64-v3
    CPU. It runs each step on a small built-in dataset; a warm cache makes it take a second or two."""
    from cltool.cli.common import RichReporter
    from cltool.kernels.warmup import warmup

    result = warmup(RichReporter(quiet))
    if json_out:
        print_json(result)
    elif not quiet:
        stderr.print(f"warmup: {result['kernels']} kernels for {result['cpu']}; {result['compiled']} signatures "
                     f"compiled, {result['loaded']} loaded from the cache; {result['seconds']:.1f}s\n"
                     f"  cache: {', '.join(result['cache'])}", markup=False)

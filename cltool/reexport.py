"""Lazy re-exports for a package's `__init__.py`: `from cltool.mine import Settings` works, yet importing
`cltool.mine.samplers` (which the CLI does at start-up, for the samplers' names and options) does not
load the whole step, numpy and pyarrow with it."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package`: each exported name -> the module (relative to the package)
    that defines it."""
    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
    return __getattr__

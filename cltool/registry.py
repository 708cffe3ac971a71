"""One registry for every kind of strategy (dedup methods, samplers, judges, pair judges, emit formats,
validate checks): a name -> strategy mapping that refuses a taken name and finds its strategies itself.

A second registration under a name used to replace the first without a word (two modules, one
name: the later import won); now it is an error naming both and the name. A registry given its
`package` imports every module of it (but its `infrastructure`) the first time it is read, so a new
strategy is one module in that package: no list of imports to extend. Its order is the strategies'
`order` where they have one (dedup's run order, validate's report order), else their modules'
names' (the order they are imported in).

Light on purpose (no numpy, no pyarrow): the CLI builds its options and its help from registries, so
the strategy modules import their heavy libraries inside their functions.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Mapping[str, T], Generic[T]):
    """Strategies of one `kind` by name. Read it as a mapping; add to it with `add`."""

    def __init__(self, kind: str, package: str | None = None, infrastructure: tuple[str, ...] = ()):
        self.kind = kind
        self._package = package
        self._infrastructure = set(infrastructure)
        self._entries: dict[str, T] = {}
        self._loaded = package is None
        self._ordered = True

    def add(self, name: str, strategy: T) -> T:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice (by {_where(self._entries[name])} and "
                             f"{_where(strategy)}): give the new one another name")
        self._entries[name] = strategy
        self._ordered = False
        return strategy

    def discard(self, name: str) -> None:
        """Take a strategy out again (a test's, a plugin's); no error when it is not there."""
        self._entries.pop(name, None)

    def names(self) -> str:
        """The names, for help and error messages: "a, b, c"."""
        return ", ".join(self)

    def _load(self) -> dict[str, T]:
        if not self._loaded:
            self._loaded = True  # first: a module that reads the registry while it registers sees it so far
            package = importlib.import_module(self._package)
            for module in pkgutil.iter_modules(package.__path__):
                if not module.name.startswith("_") and module.name not in self._infrastructure:
                    importlib.import_module(f"{self._package}.{module.name}")
        if not self._ordered:
            self._ordered = True
            # sorted() is stable: without an `order`, modules' strategies come in module-name order
            self._entries = dict(sorted(self._entries.items(), key=lambda item: getattr(item[1], "order", 0)))
        return self._entries

    def __getitem__(self, name: str) -> T:
        return self._load()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def __contains__(self, name: object) -> bool:
        return name in self._load()


def _where(strategy: object) -> str:
    target = strategy if isinstance(strategy, type) or callable(strategy) else type(strategy)
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', type(target).__name__)}"

"""One registry for every kind of strategy (dedup methods, samplers, judges, pair judges, emit formats,
validate checks): a name -> strategy mapping, in registration order, that refuses a taken name.

A second registration under a name used to replace the first without a word (two modules, one
name: the later import won); now it is an error naming both kinds and the name. Light on purpose
(no numpy, no pyarrow): the CLI's help may list names from it.
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


class Registry(dict[str, T]):
    """Strategies of one `kind` by name. Read it as a dict; add to it with `add`, never by item."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def add(self, name: str, strategy: T) -> T:
        if name in self:
            raise ValueError(f"{self.kind} {name!r} is registered twice (by {_where(self[name])} and "
                             f"{_where(strategy)}): give the new one another name")
        self[name] = strategy
        return strategy

    def names(self) -> str:
        """The names, for help and error messages: "a, b, c"."""
        return ", ".join(self)


def _where(strategy: object) -> str:
    target = strategy if isinstance(strategy, type) or callable(strategy) else type(strategy)
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', type(target).__name__)}"

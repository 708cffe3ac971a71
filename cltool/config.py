"""TOML files the user writes (validate's rules, `cltool run`'s pipeline): read, and checked against
what each key must hold, so that a wrong file is a usage error naming the key and the type expected,
never an internal error deep in the code that reads it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cltool.errors import UsageError

_TYPE_NAMES = {str: "a string", int: "a whole number", float: "a number", bool: "true or false", list: "an array",
               dict: "a table"}


def read_toml(path: str, what: str) -> dict[str, Any]:
    """The TOML file `path` as a dict; `what` names it in errors ("rules file", "pipeline file")."""
    import tomllib

    try:
        text = Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise UsageError(f"{what} {path} does not exist") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{what} {path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{what} {path} is not valid TOML: {exc}") from None


def expect(value: Any, types: tuple[type, ...], where: str, hint: str | None = None) -> Any:
    """`value` if it is one of `types` (a bool is not a number), else a UsageError naming `where`."""
    is_bool = isinstance(value, bool)
    if any(isinstance(value, t) and (t is bool or not is_bool) for t in types):
        return value
    expected = "a number" if set(types) == {int, float} else " or ".join(_TYPE_NAMES[t] for t in types)
    raise UsageError(f"{where} must be {expected}, not {value!r}", hint=hint)


def expect_list(value: Any, types: tuple[type, ...], where: str) -> list[Any]:
    """An array whose every item is one of `types`."""
    expect(value, (list,), where)
    return [expect(item, types, f"{where}[{i}]") for i, item in enumerate(value)]

"""The validate checks, by name. A check measures one thing, compares it with its limits and keeps a
few offending rows; it declares its limits with their defaults (they make `Rules`) and a one-line
description. A new check is one module in this package with a `@register(...)` function: the registry
finds it, and runs and reports it by its `order`. Light at import (the rules are made from the limits
the checks declare): a check imports numpy and pyarrow inside its function."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from cltool.registry import Registry

if TYPE_CHECKING:
    from cltool.validate.read import Data

PASS, FAIL, SKIP = "pass", "fail", "skip"


@dataclass
class Result:
    """What a check found: pass, fail or skip; the value measured and its limit; the offending rows."""

    status: str
    value: Any
    limit: Any
    detail: str
    examples: list[dict[str, Any]] = field(default_factory=list)


def skipped(limit: Any, detail: str) -> Result:
    return Result(SKIP, None, limit, detail)


def within(value: float, limit: float | None, detail: str, examples: list[dict[str, Any]]) -> Result:
    """Pass when `value` is at most `limit` (None: no limit); the examples only on a failure."""
    ok = limit is None or value <= limit
    return Result(PASS if ok else FAIL, value, limit, detail, examples if not ok else examples[:0])


def from_problems(value: Any, limit: Any, problems: list[str], ok: str, examples: int | None = None) -> Result:
    """Fail when any problem was found; the first `examples` problems (None: all) are the examples,
    `ok` is the detail of a pass."""
    return Result(FAIL if problems else PASS, value, limit, "; ".join(problems) or ok,
                  [{"problem": p} for p in problems[:examples]])


# a check: (the table, the rules, how many offending rows to keep, the --against table or None) -> Result
CheckFunction = Callable[["Data", Any, int, "Data | None"], Result]


@dataclass(frozen=True)
class Check:
    name: str
    run: CheckFunction
    description: str
    limits: dict[str, Any]  # the limits it reads, with their defaults
    order: int  # its turn: checks run, and are reported, by ascending order


CHECKS: Registry[Check] = Registry("validate check", package="cltool.validate.checks",
                                  infrastructure=("registry", "similar"))  # in the order they run and are reported


def register(name: str, description: str, *, order: int, **limits: Any) -> Callable[[CheckFunction], CheckFunction]:
    """Function decorator: add a check to CHECKS under `name` (also its name in reports and in
    `checks = [...]`), at `order` among the checks, with the limits it reads and their defaults.
    Checks may share a limit, with one default."""
    def add(run: CheckFunction) -> CheckFunction:
        for check in CHECKS.values():
            for limit in limits.keys() & check.limits.keys():
                if limits[limit] != check.limits[limit]:
                    raise ValueError(f"checks {check.name} and {name} give limit {limit} different defaults")
        CHECKS.add(name, Check(name, run, description, limits, order))
        return run
    return add


def default_limits() -> dict[str, Any]:
    """Every limit of every check, with its default, in the order the checks declare them."""
    return {limit: default for check in CHECKS.values() for limit, default in check.limits.items()}

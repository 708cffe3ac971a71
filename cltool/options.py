"""A strategy's options, declared once beside it: a frozen dataclass whose fields are `option(...)`s.

Each field says its default, its help and its range; the step's Settings holds the chosen strategy's
name and the values the user gave (by field name), `Options.of(values)` makes the options from them and
checks only those of the chosen strategy, and the CLI makes one command-line option per field from the
same declaration (`cltool.cli.strategies`), so a default is written in one place. The field's name is
the option: `simans_a` is `--simans-a` and the manifest's `simans_a`.

Light on purpose (no numpy, no pyarrow): the CLI reads these declarations at start-up.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any

from cltool.errors import UsageError

AUTO = "auto"  # an option whose value is read off the data (cltool.calibration)


@dataclass(frozen=True)
class Spec:
    """What the command line needs to know of an option, beyond its default."""

    help: str
    kind: str  # int, float, bool, text, number-or-off, threshold (auto, a number or off), path, numbers, words
    minimum: float | None = None  # the value is at least this
    maximum: float | None = None  # ... at most this
    above: float | None = None  # ... strictly above this
    below: float | None = None  # ... strictly below this
    choices: tuple[str, ...] = ()  # the text values it takes (kind text)
    flag: str | None = None  # the command-line name when it is not --FIELD-WITH-DASHES
    parse: Callable[[str], Any] | None = None  # text -> value, for kinds numbers and words
    metavar: str | None = None


def option(default: Any, help: str, kind: str | None = None, **spec: Any) -> Any:
    """A field of an Options dataclass: its default, its help and its range (see Spec)."""
    if kind is None:
        kind = {bool: "bool", int: "int", float: "float", str: "text"}[type(default)]
    return field(default=default, metadata={"option": Spec(help, kind, **spec)})


def spec_of(f: Field) -> Spec:
    return f.metadata["option"]


def flag_of(f: Field) -> str:
    return spec_of(f).flag or "--" + f.name.replace("_", "-")


@dataclass(frozen=True)
class Options:
    """Base of a strategy's options. A strategy without options keeps this empty one."""

    @classmethod
    def declared(cls) -> tuple[Field, ...]:
        return tuple(f for f in fields(cls) if "option" in f.metadata)

    @classmethod
    def of(cls, values: Mapping[str, Any], context: Any = None) -> Options:
        """The options from the values given (the rest: their defaults), checked. `context`: the step's
        settings, for a check that compares an option with them."""
        names = {f.name for f in cls.declared()}
        options = cls(**{name: value for name, value in values.items() if name in names})
        options.check(context)
        return options

    def check(self, context: Any = None) -> None:
        """The declared ranges, then `validate` (what a range cannot say)."""
        for f in self.declared():
            check_range(flag_of(f), getattr(self, f.name), spec_of(f))
        self.validate(context)

    def validate(self, context: Any) -> None:
        """A strategy's own check of its options; raises UsageError."""

    def values(self) -> dict[str, Any]:
        """The options by name, for the manifest."""
        return {f.name: getattr(self, f.name) for f in self.declared()}


def check_range(flag: str, value: Any, spec: Spec) -> None:
    if value is None or isinstance(value, (str, bool)):
        if spec.choices and value not in spec.choices:
            raise UsageError(f"{flag} takes {', '.join(spec.choices)}, not {value!r}")
        return
    for one in value if isinstance(value, tuple) else (value,):
        if isinstance(one, str):
            continue
        if isinstance(one, float) and math.isnan(one):
            raise UsageError(f"{flag} takes a number, not nan")
        low = "" if spec.minimum is None or one >= spec.minimum else f"{spec.minimum:g} or more"
        low = low or ("" if spec.above is None or one > spec.above else f"above {spec.above:g}")
        high = "" if spec.maximum is None or one <= spec.maximum else f"{spec.maximum:g} or less"
        high = high or ("" if spec.below is None or one < spec.below else f"below {spec.below:g}")
        if low or high:
            raise UsageError(f"{flag} must be {_range(spec)}, not {one}")


def _range(spec: Spec) -> str:
    low = (f"{spec.minimum:g}" if spec.minimum is not None else None, "[") if spec.above is None else \
        (f"{spec.above:g}", "(")
    high = (f"{spec.maximum:g}" if spec.maximum is not None else None, "]") if spec.below is None else \
        (f"{spec.below:g}", ")")
    if low[0] is None:
        return f"{'at most' if high[1] == ']' else 'below'} {high[0]}"
    if high[0] is None:
        return f"{low[0]} or more" if low[1] == "[" else f"above {low[0]}"
    if (low[1], high[1]) == ("(", ")"):
        return f"strictly between {low[0]} and {high[0]}"
    if (low[1], high[1]) == ("[", "]"):
        return f"between {low[0]} and {high[0]}"
    return f"in {low[1]}{low[0]}, {high[0]}{high[1]}"


def default_of(f: Field) -> Any:
    return f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]


def declared_by(strategies: Mapping[str, Any]) -> dict[str, tuple[Field, list[str]]]:
    """Every option that the strategies (name -> a strategy with an `Options` class) declare, with the
    names of those that read it. Two strategies may share an option (cross-encoder's and bi-encoder's
    --ratio) only as one declaration: the same default, help and range."""
    out: dict[str, tuple[Field, list[str]]] = {}
    for name, strategy in strategies.items():
        for f in strategy.Options.declared():
            if f.name in out:
                first, owners = out[f.name]
                if (default_of(first), first.metadata) != (default_of(f), f.metadata):
                    raise ValueError(f"option {f.name!r} is declared by {owners[0]} and {name} differently: "
                                     "declare it once and share it")
                owners.append(name)
            else:
                out[f.name] = (f, [name])
    return out


def refuse_unread(values: Mapping[str, Any], strategies: Mapping[str, Any], chosen: set[str], choose: str) -> None:
    """Refuse a value given for an option that no chosen strategy reads. `choose`: how to choose a
    strategy, with {name} for its name ("--sampling {name}")."""
    declared = declared_by(strategies)
    for name in values:
        if name not in declared:
            raise UsageError(f"no {choose.format(name='...')} reads an option {name!r}",
                             hint=f"the options are {', '.join(sorted(declared)) or 'none'}")
        f, owners = declared[name]
        if not chosen & set(owners):
            raise UsageError(f"{flag_of(f)} is read by {' and '.join(choose.format(name=o) for o in owners)}",
                             hint=f"add {choose.format(name=owners[0])}, or leave out {flag_of(f)}")


MAX_SEED = 2**32 - 1  # what numpy's and torch's generators take


def check_seed(seed: int) -> None:
    """--seed, one rule for every step."""
    if not 0 <= seed <= MAX_SEED:
        raise UsageError(f"--seed must lie between 0 and {MAX_SEED:,}, not {seed:,}", hint="give a smaller seed")

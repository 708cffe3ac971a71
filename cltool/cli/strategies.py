"""The command-line options of a step's strategies, made from their declarations (`cltool.options`).

`@strategy_options(REGISTRY, into="sampling_options")` adds to a command one option per option that
the registry's strategies declare (its flag, type, default and help from the declaration, the help led
by the strategies that read it) and hands the command, as `into`, the values the user gave that differ
from the default, by name: the step's Settings refuses those no chosen strategy reads. So a default is
written once, and a new strategy's options reach the CLI without editing it. `choices_help` writes an
option's list of strategy names from the registry. Both read only light modules (no numpy, no pyarrow).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import Field
from typing import Annotated, Any

import typer

from cltool.options import default_of, flag_of, spec_of


def strategy_options(registry: Mapping[str, Any], into: str, panel: str | None = None) -> Callable:
    from cltool.options import declared_by

    declared = declared_by(registry)

    def decorate(command: Callable) -> Callable:
        signature = inspect.signature(command, eval_str=True)
        own = [p for p in signature.parameters.values() if p.name != into]
        taken = {p.name for p in own}
        extra = []
        for name, (f, owners) in declared.items():
            if name in taken:
                raise ValueError(f"{command.__name__}: option {name!r} of {', '.join(owners)} is the command's own")
            annotation, default = _typer_parameter(f, owners, panel)
            extra.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                           annotation=annotation))

        @functools.wraps(command)
        def run(**values: Any) -> Any:
            given = {}
            for name, (f, _) in declared.items():
                value = parse(f, values.pop(name))
                if value != default_of(f):  # nan too: it is never equal
                    given[name] = value
            return command(**values, **{into: given})

        run.__signature__ = signature.replace(parameters=[*own, *extra])  # type: ignore[attr-defined]
        return run

    return decorate


def choices_help(registry: Mapping[str, Any], lead: str) -> str:
    """`lead`, then each strategy's name and its one-line help: "lead: a (what a does), b (...)."."""
    return f"{lead}: " + ", ".join(f"{name} ({strategy.help})" if getattr(strategy, "help", "") else name
                                   for name, strategy in registry.items()) + "."


# how each kind of option is typed on the command line; kinds whose values are not plain numbers are text
_TEXT_KINDS = ("number-or-off", "threshold", "numbers", "words")


def _typer_parameter(f: Field, owners: list[str], panel: str | None) -> tuple[Any, Any]:
    spec = spec_of(f)
    default = default_of(f)
    lead = ", ".join(owners)
    help = f"{lead}: {spec.help}" if spec.help else lead
    kind: Any = {"int": int, "float": float, "bool": bool, "text": str, "path": str}.get(spec.kind, str)
    if spec.kind in _TEXT_KINDS:
        default = shown(default)
    elif default is None:
        kind = kind | None
    info = typer.Option(flag_of(f), help=help, metavar=spec.metavar, rich_help_panel=panel)
    return Annotated[kind, info], default


def shown(value: Any) -> str:
    """An option's value as the command line writes it (a default given as text: off, auto, 0.05, a,b)."""
    if value is None:
        return "off"
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def parse(f: Field, value: Any) -> Any:
    """The command line's text -> the option's value."""
    from cltool.cli.common import optional_number, threshold_option

    spec = spec_of(f)
    if spec.kind == "number-or-off":
        return optional_number(value, flag_of(f))
    if spec.kind == "threshold":
        return threshold_option(value, flag_of(f))
    if spec.kind in ("numbers", "words"):
        return spec.parse(value) if spec.parse else tuple(p.strip() for p in value.split(",") if p.strip())
    return value


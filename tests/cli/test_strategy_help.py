"""One test over every (command, option, registry): the option's help names every registered strategy,
and every option a strategy declares is an option of the command, with the declared default. It
replaces the drift tests each registry had (the help lists were written by hand)."""

import pytest
import typer.main

from cltool.cli.app import app


def _samplers():
    from cltool.mine.samplers import SAMPLERS

    return SAMPLERS


def _methods():
    from cltool.dedup.methods import METHODS

    return METHODS


def _judges():
    from cltool.filter.judges import JUDGES

    return JUDGES


def _pair_judges():
    from cltool.filter.pair_judges import PAIR_JUDGES

    return PAIR_JUDGES


def _formats():
    from cltool.emit.formats import FORMATS

    return FORMATS


CASES = [("mine", "--sampling", _samplers), ("dedup", "--method", _methods), ("filter", "--judge", _judges),
         ("filter", "--pair-judge", _pair_judges), ("emit", "--format", _formats)]


def _option(command: str, flag: str):
    params = typer.main.get_command(app).commands[command].params
    return next(p for p in params if flag in p.opts)


@pytest.mark.parametrize("command, flag, registry", CASES, ids=[f"{c} {f}" for c, f, _ in CASES])
def test_the_help_names_every_registered_strategy_and_takes_its_options(command, flag, registry):
    from cltool.cli.strategies import shown
    from cltool.options import default_of, flag_of, spec_of

    strategies = registry()
    assert strategies, "an empty registry: its package's modules were not found"
    help_text = _option(command, flag).help
    for name in strategies:
        assert name in help_text, f"{command} {flag}'s help does not name {name!r}"
    for strategy in strategies.values():
        for f in strategy.Options.declared() if hasattr(strategy, "Options") else ():
            param = _option(command, flag_of(f))
            default = default_of(f)
            as_text = spec_of(f).kind in ("number-or-off", "threshold", "numbers", "words")
            expected = shown(default) if as_text else default
            assert param.default == expected, f"{flag_of(f)}: {param.default!r} is not {expected!r}"


def test_validate_help_names_every_registered_check():
    from cltool.validate.checks import CHECKS

    help_text = typer.main.get_command(app).commands["validate"].help
    for name in CHECKS:
        assert name.replace("_", " ") in help_text, f"validate's help does not name {name!r}"

"""Every kind of strategy registers through one `Registry`, which refuses a taken name (a second
module registering under a name used to replace the first without a word)."""

import pytest

from cltool.registry import Registry


def test_a_registry_keeps_order_and_refuses_a_taken_name():
    registry: Registry[int] = Registry("widget")
    registry.add("b", 1)
    registry.add("a", 2)
    assert list(registry) == ["b", "a"] and registry.names() == "b, a" and registry["a"] == 2
    with pytest.raises(ValueError, match="widget 'a' is registered twice"):
        registry.add("a", 3)
    assert registry["a"] == 2


def _dedup():
    from cltool.dedup.methods.registry import METHODS, register

    return METHODS, lambda: register("exact", order=99, reason="other")(lambda job: None)


def _sampler():
    from cltool.mine.samplers.base import SAMPLERS, Sampler, register

    return SAMPLERS, lambda: register(type("Again", (Sampler,), {"name": "top"}))


def _judge():
    from cltool.filter.judges.base import JUDGES, Judge, register

    return JUDGES, lambda: register(type("Again", (Judge,), {"name": "lexical"}))


def _pair_judge():
    from cltool.filter.pair_judges.base import PAIR_JUDGES, PairJudge, register

    return PAIR_JUDGES, lambda: register(type("Again", (PairJudge,), {"name": "consistency"}))


def _format():
    from cltool.emit.formats.registry import FORMATS, Format, register

    return FORMATS, lambda: register("triplet", order=9, library="elsewhere", fixed_negatives=True)(
        type("Again", (Format,), {}))


def _check():
    from cltool.validate.checks.registry import CHECKS, register

    return CHECKS, lambda: register("schema", "another schema check", order=99)(lambda t, rules, examples, against: None)


@pytest.mark.parametrize("kind", [_dedup, _sampler, _judge, _pair_judge, _format, _check],
                         ids=["dedup method", "sampler", "judge", "pair judge", "emit format", "validate check"])
def test_every_kind_refuses_a_taken_name(kind):
    import cltool.dedup, cltool.emit, cltool.filter, cltool.mine, cltool.validate  # noqa: E401, F401  (register all)

    registry, register_again = kind()
    before = dict(registry)
    with pytest.raises(ValueError, match=f"{registry.kind} '.*' is registered twice"):
        register_again()
    assert dict(registry) == before  # the first registration stands


def _module_of(strategy) -> str:
    """The module that registered a strategy: its run function's, else its class's."""
    run = getattr(strategy, "run", None)
    return (run if callable(run) else type(strategy)).__module__


def _strategy_modules(registry) -> set[str]:
    """The modules of the registry's package that are not its infrastructure: its strategies'."""
    import importlib
    import pkgutil

    package = importlib.import_module(registry._package)
    return {f"{registry._package}.{m.name}" for m in pkgutil.iter_modules(package.__path__)
            if not m.name.startswith("_") and m.name not in registry._infrastructure}


# the order they are listed in today: emit's docstring for the formats, the README for the checks.
# A new strategy may come anywhere (its `order`); these keep theirs.
FORMAT_ORDER = ["triplet", "n-tuple", "labeled-pair", "labeled-list", "bge"]
CHECK_ORDER = ["schema", "empty_text", "exact_duplicates", "near_duplicates", "positive_in_negatives",
               "near_duplicate_negatives", "negatives_per_anchor", "score_sanity", "mismatched_pairs", "manifest",
               "contamination"]


@pytest.mark.parametrize("kind, documented", [(_format, FORMAT_ORDER), (_check, CHECK_ORDER)],
                         ids=["emit format", "validate check"])
def test_a_registry_lists_every_module_of_its_package_in_its_order(kind, documented):
    registry, _ = kind()
    assert {_module_of(s) for s in registry.values()} == _strategy_modules(registry)  # no module left out
    assert [name for name in registry if name in documented] == documented
    orders = [s.order for s in registry.values()]
    assert orders == sorted(orders) and len(set(orders)) == len(orders)  # each its own place

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

    return FORMATS, lambda: register("triplet", library="elsewhere", fixed_negatives=True)(type("Again", (Format,), {}))


def _check():
    from cltool.validate.checks.registry import CHECKS, register

    return CHECKS, lambda: register("schema", "another schema check")(lambda t, rules, examples, against: None)


@pytest.mark.parametrize("kind", [_dedup, _sampler, _judge, _pair_judge, _format, _check],
                         ids=["dedup method", "sampler", "judge", "pair judge", "emit format", "validate check"])
def test_every_kind_refuses_a_taken_name(kind):
    import cltool.dedup, cltool.emit, cltool.filter, cltool.mine, cltool.validate  # noqa: E401, F401  (register all)

    registry, register_again = kind()
    before = dict(registry)
    with pytest.raises(ValueError, match=f"{registry.kind} '.*' is registered twice"):
        register_again()
    assert dict(registry) == before  # the first registration stands

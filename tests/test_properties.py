"""Property-based hostile input (issue 16), beyond ingest's bytes (tests/test_hostile.py): whatever a
rules file, a pipeline file or a mined table holds, the command either works (and its counts add
up) or names the problem as an input error; it never fails as an internal error."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
words = st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), max_size=12)
scalars = st.one_of(st.integers(-(2**63), 2**63 - 1), st.floats(), st.booleans(), words)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(words, inner, max_size=3)), max_leaves=8)


def toml_value(value) -> str:
    """A TOML spelling of `value` (inline tables and arrays)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml(document: dict) -> str:
    return "".join(f"{json.dumps(k, ensure_ascii=False)} = {toml_value(v)}\n" for k, v in document.items())


def test_any_rules_file_validates_or_is_a_usage_error(chain, tmp_path_factory, fails_cleanly):
    from cltool.validate import load_rules, validate
    from cltool.validate.checks import CHECKS, default_limits

    limit_names = st.one_of(st.sampled_from(sorted(default_limits())), words)
    limits = st.dictionaries(limit_names, values, max_size=4)
    document = st.fixed_dictionaries({}, optional={"limits": st.one_of(limits, values),
                                                   "checks": st.one_of(st.lists(st.sampled_from(sorted(CHECKS)),
                                                                                max_size=3), values)})

    @EXAMPLES
    @given(st.one_of(document, st.dictionaries(words, values, max_size=3)))
    def check(content):
        path = tmp_path_factory.mktemp("rules") / "rules.toml"
        path.write_text(toml(content), encoding="utf-8")
        fails_cleanly(lambda: validate(str(chain / "mined"), load_rules(str(path))))

    check()


def test_any_pipeline_file_plans_or_is_a_usage_error(tmp_path_factory, fails_cleanly):
    from cltool.pipeline.runner import COMMANDS, run

    key_values = {"name": st.one_of(words, values), "command": st.one_of(st.sampled_from(sorted(COMMANDS)), values),
                  "input": st.one_of(st.just("in.jsonl"), st.just("pairs"), values),
                  "output": st.one_of(st.just("out/pairs"), st.just("out/other"), values),
                  "options": st.one_of(st.dictionaries(words, scalars, max_size=2), values),
                  "args": values, "inputs": values}
    step = st.fixed_dictionaries({}, optional=key_values)

    @EXAMPLES
    @given(st.one_of(st.fixed_dictionaries({"step": st.lists(step, max_size=3)}), st.dictionaries(words, values,
                                                                                                     max_size=2)))
    def check(content):
        path = tmp_path_factory.mktemp("pipeline") / "pipeline.toml"
        path.write_text(toml(content), encoding="utf-8")
        fails_cleanly(lambda: run(str(path), dry_run=True, quiet=True))

    check()


def test_any_mined_table_emits_with_counts_that_add_up_or_is_refused(tmp_path_factory, fails_cleanly):
    from cltool.emit import Settings, emit
    from cltool.emit.formats import FORMATS
    from cltool.emit.settings import SHORT_POLICIES

    text = st.one_of(st.none(), st.just(""), st.just("  "), words)
    row = st.fixed_dictionaries({"anchor": text, "positive": text,
                                 "negatives": st.one_of(st.none(), st.lists(text, max_size=4))})
    options = st.builds(Settings, format=st.sampled_from(sorted(FORMATS)),
                        num_negatives=st.one_of(st.none(), st.integers(1, 6)),
                        split=st.one_of(st.just({}), st.just({"dev": 0.3})), shuffle=st.booleans(),
                        include_scores=st.booleans(), max_rows=st.one_of(st.none(), st.integers(1, 5)),
                        short=st.sampled_from(SHORT_POLICIES))

    @EXAMPLES
    @given(st.lists(row, min_size=1, max_size=8), options)
    def check(rows, chosen):
        out = tmp_path_factory.mktemp("emit") / ("{split}.jsonl" if chosen.split else "train.jsonl")
        table = pa.Table.from_pylist(rows, schema=pa.schema({"anchor": pa.string(), "positive": pa.string(),
                                                             "negatives": pa.list_(pa.string())}))
        manifest = {}

        def call():
            manifest.update(emit(table, str(out), chosen))

        fails_cleanly(call)
        if manifest:
            counts = manifest["rows"]
            assert counts["input"] == len(rows)
            assert counts["input"] == sum(v for k, v in counts.items() if k != "input"), counts
            for written in manifest["outputs"]:
                if not written["path"].endswith(".jsonl"):
                    continue  # the hardness file (--include-scores) is Parquet
                lines = Path(written["path"]).read_text(encoding="utf-8").splitlines()
                assert len(lines) == written["rows"]

    check()

"""The step runner: a Run reused for several steps gives each its own clock; tables are inputs
everywhere a path is, and the manifest records them by name."""

import time

import pyarrow as pa
import pytest

from cltool.dedup import Settings as DedupSettings
from cltool.dedup import dedup
from cltool.errors import UsageError
from cltool.filter import Settings as FilterSettings
from cltool.step import Run


def test_a_reused_run_times_each_step_from_its_own_start(tmp_path):
    table = pa.table({"positive": ["a b c d e f", "a b c d e f", "g h i j k l"]})
    run = Run()
    time.sleep(1.0)
    manifest = dedup(table, str(tmp_path / "one"), DedupSettings(methods=("exact",)), run)
    assert manifest["wall_time_s"] < 1.0 and run.stages.times == {}  # the caller's Run is not changed


def test_a_table_as_the_reference_is_recorded_by_name(tmp_path):
    table = pa.table({"positive": ["a b c d e f", "g h i j k l"]})
    manifest = dedup(table, str(tmp_path / "out"), DedupSettings(methods=("exact",)), against=table.slice(0, 1))
    assert manifest["params"]["against"] == "<arrow table>" and manifest["rows"]["output"] == 1


def test_filter_bounds_its_permutations_whatever_the_vote():
    with pytest.raises(UsageError, match="--num-perm must be between 1 and 1024"):
        FilterSettings(judge_options={"num_perm": 100_000}).check()


def test_a_reused_run_never_lets_a_second_step_replace_the_first_steps_rejected_rows(tmp_path):
    table = pa.table({"positive": ["a b c d e f", "a b c d e f", "g h i j k l"]})
    run = Run(rejected=str(tmp_path / "rejected"))
    dedup(table, str(tmp_path / "one"), DedupSettings(methods=("exact",)), run)
    with pytest.raises(UsageError, match="an earlier step of this Run"):
        dedup(table, str(tmp_path / "two"), DedupSettings(methods=("exact",)), run)
    assert (tmp_path / "rejected.manifest.json").exists() and not (tmp_path / "two").exists()
    dedup(table, str(tmp_path / "three"), DedupSettings(methods=("exact",)), Run())  # OUT.rejected: its own
    assert (tmp_path / "three.rejected.manifest.json").exists()

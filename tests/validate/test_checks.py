"""Validate's checks are found by their registry: a check is one module in `cltool/validate/checks/`,
and a new one runs, in its order, with its limit a rule (`--limit`, a rules file), without an edit
anywhere else."""

import json
import subprocess
import sys

from tests.conftest import run_cltool_with_module
from tests.validate.datasets import good_rows, write

NEW_CHECK = '''
from cltool.validate.checks.registry import Result, register, within


@register("row_count", "at most max_rows rows", order=12, max_rows=None)
def check_row_count(t, rules, examples, against) -> Result:
    return within(t.table.num_rows, rules.max_rows, f"{t.table.num_rows} rows", [t.example(0)])
'''


def test_a_new_check_is_one_module(tmp_path):
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "row_count.py").write_text(NEW_CHECK)
    dataset = write(tmp_path / "good", good_rows())
    done = run_cltool_with_module("cltool.validate.checks", tmp_path / "checks", "validate", dataset, "--limit",
                                  "max_rows=5", "--limit", "min_negatives=2", "-q", "--json")
    assert done.returncode == 1, done.stderr  # 6 rows: the new check fails, as its limit says
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    # in its order, after contamination (11), not in its module's name's place (before schema)
    assert list(checks)[-2:] == ["contamination", "row_count"]
    assert checks["row_count"]["status"] == "fail" and checks["row_count"]["limit"] == 5
    assert [name for name, c in checks.items() if c["status"] == "fail"] == ["row_count"]


def test_the_checks_and_rules_load_without_numpy_or_pyarrow():
    """Their names, limits and defaults are read before any data (a rules file's check, a CLI's help):
    each check imports the heavy libraries where it runs."""
    code = ("import sys; from cltool.validate.checks import CHECKS; from cltool.validate.rules import Rules; "
            "Rules(); list(CHECKS); print(sorted(m for m in ('numpy', 'pyarrow') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"

"""`validate`: read the dataset or training file (and --against), run the chosen checks, gather their
results."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pyarrow as pa

from cltool.step import Run, prepare, require_rows
from cltool.validate.checks import CHECKS, FAIL
from cltool.validate.read import read_input
from cltool.validate.rules import Rules


def validate(input: str | pa.Table, rules: Rules | None = None, run: Run | None = None, *,
             against: str | pa.Table | None = None, examples: int = 3) -> dict[str, Any]:
    """Run the checks; returns {"dataset", "rows", "against", "passed", "checks": [...]} (never raises
    for a failed check)."""
    rules, run = prepare(rules, Rules, run)
    data = read_input(input, stdin=run.stdin)  # the manifest check reports a changed file
    require_rows(data.dataset, data.table.num_rows)
    other = read_input(against) if against is not None else None
    results = [{"name": name, **asdict(CHECKS[name].run(data, rules, examples, other))}
               for name in rules.checks or CHECKS]
    report = {"dataset": data.dataset.source, "rows": data.table.num_rows, "against": against,
              "passed": all(r["status"] != FAIL for r in results), "checks": results}
    if data.training is not None:  # what the file's rows were read as, and what that leaves out
        report["training_file"] = data.training.describe()
    return report

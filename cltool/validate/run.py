"""`validate`: read the dataset (and --against), run the chosen checks, gather their results."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pyarrow as pa

from cltool.dataset.read import open_dataset
from cltool.step import Run, prepare, require_rows
from cltool.validate.checks import CHECKS, FAIL
from cltool.validate.read import read_data
from cltool.validate.rules import Rules


def validate(input: str | pa.Table, rules: Rules | None = None, run: Run | None = None, *,
             against: str | pa.Table | None = None, examples: int = 3) -> dict[str, Any]:
    """Run the checks; returns {"dataset", "rows", "against", "passed", "checks": [...]} (never raises
    for a failed check)."""
    rules, run = prepare(rules, Rules, run)
    dataset = run.open(input, verify=False)  # the manifest check reports a changed file
    data = read_data(dataset)
    require_rows(dataset, data.table.num_rows)
    other = read_data(open_dataset(against, verify=False)) if against is not None else None
    results = [{"name": name, **asdict(CHECKS[name].run(data, rules, examples, other))}
               for name in rules.checks or CHECKS]
    return {"dataset": dataset.source, "rows": data.table.num_rows, "against": against,
            "passed": all(r["status"] != FAIL for r in results), "checks": results}

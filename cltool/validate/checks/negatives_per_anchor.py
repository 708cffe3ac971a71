from __future__ import annotations

import math
from typing import TYPE_CHECKING

from cltool.validate.checks.registry import FAIL, PASS, Result, register, skipped

if TYPE_CHECKING:
    from cltool.validate.read import Data
    from cltool.validate.rules import Rules


@register("negatives_per_anchor", "every row has min_negatives..max_negatives negatives",
          order=7, min_negatives=0, max_negatives=None)
def check_negatives_per_anchor(t: Data, rules: Rules, examples: int, against: Data | None) -> Result:
    """Counted per row (an (anchor, positive) pair and its negatives), and how many anchors those rows
    belong to, as `inspect` counts rows and anchors without negatives."""
    limit = {"min": rules.min_negatives, "max": rules.max_negatives}
    if t.negatives is None:
        return skipped(limit, "no negatives column")
    import numpy as np

    counts = np.array([len(row) for row in t.negatives])
    bad = (counts < rules.min_negatives) | (counts > (rules.max_negatives if rules.max_negatives is not None
                                                      else math.inf))
    rows = np.nonzero(bad)[0]
    anchors = len({t.anchor_keys[r] for r in rows.tolist()})
    value = {"min": int(counts.min()), "max": int(counts.max()), "mean": round(float(counts.mean()), 3),
             "rows_outside": int(bad.sum()), "anchors_outside": anchors}
    return Result(FAIL if bad.any() else PASS, value, limit,
                  f"{int(bad.sum()):,} rows ({anchors:,} anchors) have negatives outside "
                  f"{rules.min_negatives}..{rules.max_negatives or 'any'}",
                  [t.example(int(r), negatives=int(counts[r])) for r in rows[:examples]])

"""What mine's manifest says about a run: how many anchors got their negatives, the score
distributions, and what each rule removed."""

from __future__ import annotations

from typing import Any

import numpy as np

from cltool.mine.load import Pairs
from cltool.mine.select import Chosen


def distribution(values: np.ndarray) -> dict[str, float | int] | None:
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    q = np.percentile(values, [0, 5, 25, 50, 75, 95, 100])
    return {"count": len(values), "mean": round(float(values.mean()), 4),
            **{name: round(float(v), 4) for name, v in zip(("min", "p5", "p25", "median", "p75", "p95", "max"), q)}}


def chosen_summary(chosen: Chosen, pairs: Pairs, num_negatives: int) -> dict[str, Any]:
    from cltool.kernels.mine import RULES

    found = chosen.found
    return {
        "removed_by_rule": {rule: int(count) for rule, count in zip(RULES, chosen.removed.sum(axis=0)) if count},
        "eligible_per_anchor": distribution(chosen.eligible.astype(np.float64)),
        "anchors_full": int((found == num_negatives).sum()),
        "anchors_short": int(((found > 0) & (found < num_negatives)).sum()),
        "anchors_without_negatives": int((found == 0).sum()),
        "positive_score": distribution(pairs.row_score[pairs.row_anchor >= 0]),
        "negative_score": distribution(chosen.scores[chosen.candidate_rows >= 0]),
    }

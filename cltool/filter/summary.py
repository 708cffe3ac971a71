"""What filter's manifest says about a run: negatives judged, removed and kept, what each judge
flagged, and the distributions of the model judges' scores; rows the pair judges judged and removed,
and the distributions of their shares."""

from __future__ import annotations

from typing import Any

import numpy as np

from cltool.filter.verdicts import Judged
from cltool.filter.judges import Judge
from cltool.filter.load import Loaded
from cltool.filter.pair_judges.verdicts import PairsJudged
from cltool.filter.settings import Settings
from cltool.mine import distribution


def filter_summary(loaded: Loaded, judges: list[Judge], judged: Judged, false: np.ndarray, kept_per_anchor: np.ndarray,
                   removed: int, refill_summary: dict[str, int], pairs: PairsJudged,
                   settings: Settings) -> dict[str, Any]:
    original = len(false) - refill_summary.get("proposals_judged", 0)
    summary: dict[str, Any] = {
        "anchors": len(loaded.anchor_keys),
        "negatives": {"judged": original, "removed": int(false[:original].sum()),
                      "kept": int(original - false[:original].sum())},
        "flagged_by_judge": {j.name: int(judged.flags[i][:original].sum()) for i, j in enumerate(judges)},
        "removed_negatives_written": removed,
        "anchors_without_negatives": int((kept_per_anchor == 0).sum()),
    }
    if settings.min_negatives:
        summary["anchors_below_min_negatives"] = int((kept_per_anchor < settings.min_negatives).sum())
    if refill_summary:
        summary["refill"] = refill_summary
    for i, judge in enumerate(judges):
        if judge.reports_scores:
            summary[f"{judge.name}_scores"] = {
                "positive": distribution(judge.positive_scores.astype(np.float64)),
                "negative": distribution(judged.scores[i][:original].astype(np.float64)),
                "pairs_scored": judge.pairs_scored,
            }
            if judge.described.get("independent") is False:  # a model judge with mine's own model
                summary[f"{judge.name}_scores"].update(independent=False, note=judge.described["note"])
    if pairs.judges:
        judged_rows = int((loaded.row_anchor >= 0).sum())
        summary["pairs"] = {
            "judged": judged_rows, "removed": int(pairs.mismatched.sum()),
            "removed_share": round(float(pairs.mismatched.sum()) / max(judged_rows, 1), 6),
            "flagged_by_judge": {j.name: int(pairs.flags[i].sum()) for i, j in enumerate(pairs.judges)},
            "vote": settings.pair_vote, "mismatch_share": settings.mismatch_share,
            "shares": {j.name: distribution(pairs.shares[i][~np.isnan(pairs.shares[i])].astype(np.float64))
                       for i, j in enumerate(pairs.judges)},
            "vectors": pairs.vectors,
        }
    return summary

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Sequence

from cltool.dataset.columns import NEGATIVE_SCORES, POSITIVE_SCORE
from cltool.validate.checks.registry import Result, register, skipped, within

if TYPE_CHECKING:
    from cltool.validate.read import Data
    from cltool.validate.rules import Rules


def negatives_above_positive(anchor_keys: Sequence[int], positive_scores: Sequence[float | None],
                             negative_scores: Sequence[Sequence[float | None] | None]) -> dict[str, Any]:
    """Where a hardest negative outscores the lowest positive of its anchor (an anchor is its rows with
    the same anchor match key). Counted both ways, so that `validate` (score_sanity) and `inspect` say
    the same: `rows` (of `of_rows`: rows with a negative score and whose anchor has a positive score) and
    `anchors` (of `of_anchors`: anchors with a positive score); `examples`: (row, its hardest, the lowest)."""
    lowest: dict[int, float] = {}
    for a, pos in zip(anchor_keys, positive_scores):
        if pos is not None and not math.isnan(pos):
            lowest[a] = min(lowest.get(a, math.inf), pos)
    rows = of_rows = 0
    anchors: dict[int, tuple[float, int]] = {}  # anchor -> (its hardest negative above, that row)
    for r, (a, scores) in enumerate(zip(anchor_keys, negative_scores)):
        top = max((s for s in (scores or ()) if s is not None and not math.isnan(s)), default=None)
        if top is None or a not in lowest:
            continue
        of_rows += 1
        if top > lowest[a]:
            rows += 1
            if top > anchors.get(a, (-math.inf, r))[0]:
                anchors[a] = (top, r)
    return {"anchors": len(anchors), "of_anchors": len(lowest), "rows": rows, "of_rows": of_rows,
            "examples": [(r, top, lowest[a]) for a, (top, r) in anchors.items()]}


# share of anchors; 1.0 (no limit) by default: mine has no margin by default (it trained better
# models), so hard negatives outscoring the positive are expected. Set one for margin-mined data.
@register("score_sanity", "few anchors have a negative that outscores their lowest positive",
          order=8, max_hardest_negative_above_positive=1.0)
def check_score_sanity(t: Data, rules: Rules, examples: int, against: Data | None) -> Result:
    columns = t.table.column_names
    if NEGATIVE_SCORES not in columns or POSITIVE_SCORE not in columns:
        return skipped(rules.max_hardest_negative_above_positive, "no negative_scores and positive_score columns")
    found = negatives_above_positive(t.anchor_keys, t.table.column(POSITIVE_SCORE).to_pylist(),
                                     t.table.column(NEGATIVE_SCORES).to_pylist())
    share = found["anchors"] / max(found["of_anchors"], 1)
    return within(round(share, 6), rules.max_hardest_negative_above_positive,
                  f"{found['anchors']:,} of {found['of_anchors']:,} anchors ({found['rows']:,} of {found['of_rows']:,} "
                  "rows) have a negative that outscores their lowest positive; the value is the share of anchors",
                  [t.example(r, hardest_negative_score=round(top, 5), positive_score=round(low, 5))
                   for r, top, low in found["examples"][:examples]])

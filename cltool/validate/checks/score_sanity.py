from __future__ import annotations

from typing import TYPE_CHECKING

import math

from cltool.dataset.pairs import NEGATIVE_SCORES, POSITIVE_SCORE
from cltool.validate.checks.registry import Result, register, skipped, within

if TYPE_CHECKING:
    from cltool.validate.read import Data
    from cltool.validate.rules import Rules


# share of anchors; 1.0 (no limit) by default: mine has no margin by default (it trained better
# models), so hard negatives outscoring the positive are expected. Set one for margin-mined data.
@register("score_sanity", "few anchors have a negative that outscores their lowest positive",
          max_hardest_negative_above_positive=1.0)
def check_score_sanity(t: Data, rules: Rules, examples: int, against: Data | None) -> Result:
    columns = t.table.column_names
    if NEGATIVE_SCORES not in columns or POSITIVE_SCORE not in columns:
        return skipped(rules.max_hardest_negative_above_positive, "no negative_scores and positive_score columns")
    lowest: dict[int, float] = {}
    hardest: dict[int, tuple[float, int]] = {}
    for r, (a, pos, scores) in enumerate(zip(t.anchor_keys, t.table.column(POSITIVE_SCORE).to_pylist(),
                                             t.table.column(NEGATIVE_SCORES).to_pylist())):
        if pos is not None:
            lowest[a] = min(lowest.get(a, math.inf), pos)
        top = max((s for s in (scores or ()) if s is not None), default=None)
        if top is not None and top > hardest.get(a, (-math.inf, r))[0]:
            hardest[a] = (top, r)
    above = [(a, h) for a, h in hardest.items() if a in lowest and h[0] > lowest[a]]
    share = len(above) / max(len(lowest), 1)
    return within(round(share, 6), rules.max_hardest_negative_above_positive,
                  f"{len(above):,} of {len(lowest):,} anchors have a negative that outscores their lowest positive",
                  [t.example(h[1], hardest_negative_score=round(h[0], 5), positive_score=round(lowest[a], 5))
                   for a, h in above[:examples]])

from __future__ import annotations

from typing import TYPE_CHECKING

from cltool.validate.checks.registry import Result, register, skipped, within
from cltool.validate.checks.similar import NEAR_DUPLICATE_THRESHOLD, near_duplicates as find_near

if TYPE_CHECKING:
    from cltool.validate.read import Data
    from cltool.validate.rules import Rules


@register("near_duplicates", "few rows are near-duplicates (MinHash, word 5-grams) of an earlier row",
          order=4, max_near_duplicate_rate=0.05, near_duplicate_threshold=NEAR_DUPLICATE_THRESHOLD)
def check_near_duplicates(t: Data, rules: Rules, examples: int, against: Data | None) -> Result:
    if not t.anchors:
        return skipped(rules.max_near_duplicate_rate, "no anchor and positive columns")
    from cltool.dedup.text import JOIN

    found = find_near([f"{a or ''}{JOIN}{p or ''}" for a, p in zip(t.anchors, t.positives)],
                      rules.near_duplicate_threshold)
    rate = len(found.removed) / len(t.anchors)
    return within(round(rate, 6), rules.max_near_duplicate_rate,
                  f"{len(found.removed):,} rows are near-duplicates (Jaccard >= {rules.near_duplicate_threshold}, "
                  "word 5-grams of anchor and positive) of an earlier row",
                  [t.example(int(r), duplicate_of_row=int(d), jaccard=round(float(j), 4))
                   for r, d, j in list(zip(found.removed, found.duplicate_of, found.jaccard))[:examples]])

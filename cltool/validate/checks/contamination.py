from __future__ import annotations

from typing import TYPE_CHECKING

from cltool.validate.checks.registry import Result, register, skipped, within
from cltool.validate.checks.similar import NEAR_DUPLICATE_THRESHOLD, near_duplicates

if TYPE_CHECKING:
    from cltool.validate.read import Data
    from cltool.validate.rules import Rules


@register("contamination", "no anchor or positive shared with --against, exactly or as a near-duplicate",
          order=11, max_contamination=0, near_duplicate_threshold=NEAR_DUPLICATE_THRESHOLD)
def check_contamination(t: Data, rules: Rules, examples: int, against: Data | None) -> Result:
    if against is None:
        return skipped(rules.max_contamination, "no --against dataset")
    theirs = {k for k in against.anchor_keys + against.positive_keys if k}
    found = []
    for r, (a, p) in enumerate(zip(t.anchor_keys, t.positive_keys)):
        if a in theirs or p in theirs:
            found.append(t.example(r, match="exact"))
    reference = [x or "" for x in against.anchors + against.positives]
    ours = [x or "" for x in t.anchors + t.positives]
    near = near_duplicates(reference + ours, rules.near_duplicate_threshold, reference_rows=len(reference))
    exact_rows = {e["row"] for e in found}
    for position, j in zip(near.removed.tolist(), near.jaccard.tolist()):
        r = (position - len(reference)) % len(t.anchors)
        if r not in exact_rows:
            exact_rows.add(r)
            found.append(t.example(r, match=f"near (Jaccard {j:.3f})"))
    return within(len(found), rules.max_contamination,
                  f"{len(found):,} rows share an anchor or positive with {against.dataset.source}, exactly or as a "
                  f"near-duplicate (Jaccard >= {rules.near_duplicate_threshold})", found[:examples])

from __future__ import annotations

from typing import TYPE_CHECKING

from cltool.validate.checks.registry import Result, register, skipped, within

if TYPE_CHECKING:
    from cltool.validate.read import Data
    from cltool.validate.rules import Rules


def _anchor_positives(t: Data) -> tuple[dict[int, set[str]], dict[int, set[int]]]:
    """Per anchor (by match key), its positives' ids and match keys."""
    ids: dict[int, set[str]] = {}
    keys: dict[int, set[int]] = {}
    for a, pid, pkey in zip(t.anchor_keys, t.positive_ids, t.positive_keys):
        ids.setdefault(a, set()).add(pid)
        keys.setdefault(a, set()).add(pkey)
    return ids, keys


@register("positive_in_negatives", "no negative is one of its anchor's positives or the anchor",
          order=5, max_positive_in_negatives=0)
def check_positive_in_negatives(t: Data, rules: Rules, examples: int, against: Data | None) -> Result:
    if t.negatives is None:
        return skipped(rules.max_positive_in_negatives, "no negatives column")
    from cltool.dataset.pairs import ids_and_match_keys

    ids, keys = _anchor_positives(t)
    found = []
    for r, row in enumerate(t.negatives):
        a = t.anchor_keys[r]
        row_ids = t.negative_ids[r] if t.negative_ids is not None else [None] * len(row)
        for text, key, nid in zip(row, ids_and_match_keys(row)[1], row_ids):
            if key in keys[a] or key == a or (nid is not None and nid in ids[a]):
                found.append(t.example(r, negative=text[:200], negative_id=nid))
    rows = sorted({e["row"] for e in found})
    anchors = len({t.anchor_keys[r] for r in rows})
    return within(len(found), rules.max_positive_in_negatives,
                  f"{len(found):,} negatives, in {len(rows):,} rows of {anchors:,} anchors, are one of their anchor's "
                  "positives (by id or by text) or the anchor; the value counts negatives", found[:examples])

from __future__ import annotations

from typing import TYPE_CHECKING

from cltool.validate.checks.registry import Result, register, skipped, within
from cltool.validate.checks.similar import NEAR_DUPLICATE_THRESHOLD

if TYPE_CHECKING:
    from cltool.validate.read import Data
    from cltool.validate.rules import Rules


@register("near_duplicate_negatives", "no negative is a near-duplicate of one of its anchor's positives",
          order=6, max_near_duplicate_negatives=0, near_duplicate_threshold=NEAR_DUPLICATE_THRESHOLD)
def check_near_duplicate_negatives(t: Data, rules: Rules, examples: int, against: Data | None) -> Result:
    if t.negatives is None:
        return skipped(rules.max_near_duplicate_negatives, "no negatives column")
    import numpy as np
    import pyarrow as pa

    from cltool.dedup.near import utf8_buffers
    from cltool.dedup.text import DEFAULT_NORMALIZATION, normalize
    from cltool.kernels.minhash import WORD, jaccard_pairs, shingle_sets

    texts: dict[str, int] = {}
    for value in [*(p or "" for p in t.positives), *(x for row in t.negatives for x in row)]:
        texts.setdefault(value, len(texts))
    data, offsets = utf8_buffers(normalize(pa.array(list(texts), pa.large_string()), DEFAULT_NORMALIZATION))
    values, set_offsets = shingle_sets(data, offsets, 5, WORD)
    positives_of: dict[int, set[int]] = {}
    for a, p in zip(t.anchor_keys, t.positives):
        positives_of.setdefault(a, set()).add(texts[p or ""])
    left, right, where = [], [], []
    for r, row in enumerate(t.negatives):
        for x in row:
            for p in positives_of[t.anchor_keys[r]]:
                left.append(texts[x])
                right.append(p)
                where.append((r, x))
    similarity = jaccard_pairs(values, set_offsets, np.array(left, dtype=np.int64), np.array(right, dtype=np.int64))
    hits = sorted({where[i] for i in np.nonzero(similarity >= rules.near_duplicate_threshold)[0].tolist()})
    rows = {r for r, _ in hits}
    anchors = len({t.anchor_keys[r] for r in rows})
    return within(len(hits), rules.max_near_duplicate_negatives,
                  f"{len(hits):,} negatives, in {len(rows):,} rows of {anchors:,} anchors, are near-duplicates of one "
                  f"of their anchor's positives (Jaccard >= {rules.near_duplicate_threshold}, word 5-grams); the value "
                  "counts negatives",
                  [t.example(r, negative=x[:200]) for r, x in hits[:examples]])

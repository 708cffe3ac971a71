"""Hub control (`--max-reuse N`): no candidate is a negative of more than N anchors.

A generic text (`def __bool__(cls): return True`, a boilerplate paragraph) can sit near the top of
many anchors' lists and be chosen for dozens of them: it teaches little, and for some of them it is a
false negative. Past the cap, an anchor takes its next eligible candidate instead (in rank order,
among those every rule allowed), or keeps the hub where it has none left. The earlier anchors in the
input keep theirs, so the result depends on the input alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cltool.mine.ranked import Ranked, latest_parts
from cltool.mine.select import Chosen, Selector, eligible


def reuse_counts(chosen: Chosen, candidates: int) -> np.ndarray:
    rows = chosen.candidate_rows[chosen.candidate_rows >= 0]
    return np.bincount(rows, minlength=candidates)


def describe_reuse(uses: np.ndarray, cap: int | None) -> dict[str, Any]:
    """How often the most used candidates are chosen, and how many are over the cap."""
    used = uses[uses > 0]
    out: dict[str, Any] = {"most_used": int(used.max()) if len(used) else 0,
                           "negatives": int(used.sum()), "distinct": int(len(used))}
    if cap is not None:
        out.update(candidates_over_cap=int((used > cap).sum()), negatives_over_cap=int((used - cap).clip(0).sum()))
    return out


def cap_reuse(parts: list[Ranked], chosen: Chosen, selector: Selector, candidates: int) -> dict[str, Any]:
    """Apply --max-reuse to `chosen` in place; returns reuse before and after, for the manifest."""
    from cltool.kernels.mine import cap_reuse as cap_kernel

    cap = selector.settings.max_reuse
    before = reuse_counts(chosen, candidates)
    summary: dict[str, Any] = {"max_reuse": cap, "before": describe_reuse(before, cap)}
    hubs = before > cap
    touched = np.nonzero((hubs[np.maximum(chosen.candidate_rows, 0)] & (chosen.candidate_rows >= 0)).any(axis=1))[0]
    offsets, rows, scores, ranks = _options(parts, selector, touched, len(chosen.candidate_rows))
    replaced, kept = cap_kernel(chosen.candidate_rows, chosen.scores, chosen.ranks, offsets, rows, scores, ranks,
                                candidates, cap) if len(touched) else (0, 0)
    if len(touched):  # a replacement takes the slot of the hub: the row is put back in rank order
        ranks_of = np.where(chosen.ranks[touched] >= 0, chosen.ranks[touched], np.iinfo(np.int32).max)
        order = np.argsort(ranks_of, axis=1, kind="stable")
        for column in (chosen.candidate_rows, chosen.scores, chosen.ranks):
            column[touched] = np.take_along_axis(column[touched], order, axis=1)
    summary.update(after=describe_reuse(reuse_counts(chosen, candidates), cap), replaced=int(replaced),
                   kept_over_cap=int(kept))
    return summary


def _options(parts: list[Ranked], selector: Selector, anchors: np.ndarray, total: int):
    """Each of `anchors`' eligible candidates in rank order (from the latest part that ranked it: a
    deeper search replaces the first), as CSR over all anchors (empty for the others)."""
    latest, row_of = latest_parts(parts, total)
    per_anchor: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    settings = selector.settings
    for number, part in enumerate(parts):
        mine = anchors[latest[anchors] == number]
        if not len(mine):
            continue
        rows = row_of[mine]
        sub = Ranked(mine, part.candidate_rows[rows], part.scores[rows], part.depth,
                     part.near[rows] if part.near is not None else None)
        pool = eligible(sub.candidate_rows, sub.scores, near=sub.near, candidate_keys=selector.candidate_keys,
                        positives=selector.positives.of(mine), anchor_keys=selector.anchor_keys[mine],
                        lowest=selector.lowest[mine], rules=settings.rules, range_min=settings.range_min,
                        range_maxes=selector.range_maxes[mine])
        for i, a in enumerate(mine):
            r = pool.ranks[i, :pool.counts[i]]
            per_anchor[int(a)] = (sub.candidate_rows[i, r], sub.scores[i, r], r.astype(np.int32))
    counts = np.zeros(total + 1, dtype=np.int64)
    for a, (options, _, _) in per_anchor.items():
        counts[a + 1] = len(options)
    offsets = np.cumsum(counts)
    size = int(offsets[-1])
    candidate_rows = np.empty(size, dtype=np.int32)
    scores = np.empty(size, dtype=np.float32)
    ranks = np.empty(size, dtype=np.int32)
    for a, (i, s, r) in per_anchor.items():
        candidate_rows[offsets[a]:offsets[a + 1]] = i
        scores[offsets[a]:offsets[a + 1]] = s
        ranks[offsets[a]:offsets[a + 1]] = r
    return offsets, candidate_rows, scores, ranks

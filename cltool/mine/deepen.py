"""Anchors left short of negatives by the rules are searched again, deeper."""

from __future__ import annotations

from typing import Any

import numpy as np

from cltool import memory
from cltool.mine.load import Candidates, Pairs
from cltool.mine.ranked import Ranked, near_positives, ranked_bytes
from cltool.mine.select import Chosen, Selector


def deepen(parts: list[Ranked], chosen: Chosen, candidates: Candidates, pairs: Pairs, selector: Selector,
           needs_near: bool, floor: float | None) -> dict[str, Any]:
    """Anchors short of negatives after the rules get a wider window, four times as deep each round,
    until they have enough or reach --max-window (or run out of candidates), and only while deeper
    can help: an anchor whose window already ends below `floor` (a score that only 1% of random
    (anchor, candidate) pairs reach) would find nothing closer than a random fill. They are searched
    again once, exactly, as deep as any of them may grow; each round chooses within its cut of that
    search. A margin or a near-duplicate rule can empty a shallow window: a fill would put random
    texts where a mined negative belongs. Grows selector.range_maxes and appends one part per round;
    returns what happened, for the manifest."""
    from cltool.kernels.mine import RULES
    from cltool.mine.search import exact_search_top

    settings, range_maxes = selector.settings, selector.range_maxes
    total = len(candidates)
    cap = np.full(len(range_maxes), min(settings.max_window, total))
    saved = candidates.vectors is None  # --from-candidates: deeper only as far as the saved search went
    if saved:
        for part in parts:
            cap[part.anchors] = np.minimum(cap[part.anchors], part.depth)
    rounds = []
    memory_bound = False
    deep = None  # one search as deep as any short anchor may grow: each round takes its part from it
    window_end = _window_ends(parts, range_maxes)
    while True:
        helps = window_end >= floor if floor is not None else np.ones(len(range_maxes), dtype=bool)
        short = np.nonzero((chosen.found < settings.num_negatives) & (range_maxes < cap) & helps)[0]
        if not len(short):
            break
        deeper = np.minimum(range_maxes[short] * 4, cap[short])
        if not saved and not memory.fits(ranked_bytes(len(short), int(deeper.max()))):
            memory_bound = True  # as deep as the free memory allows, not into the OOM killer
            break
        range_maxes[short] = deeper
        depth = int(range_maxes[short].max())
        if saved:  # the saved lists already go this deep: choose again within the wider windows
            for part in parts:
                selector.select_part(part, chosen)
            window_end = _window_ends(parts, range_maxes)
        else:
            if deep is None or depth > deep.depth:  # a later round's anchors are some of this round's
                reach = int(cap[short].max())
                reach = reach if memory.fits(ranked_bytes(len(short), reach)) else depth
                scores, rows = exact_search_top(pairs.queries[short], candidates.vectors[:total], reach)
                deep = Ranked(short, rows, scores, reach)
                if needs_near:
                    near_positives(deep, candidates, selector.positives)
            part = _rows(deep, short, depth)
            selector.select_part(part, chosen)
            parts.append(part)
            window_end[short] = _window_ends([part], range_maxes)[short]
        rounds.append({"anchors": len(short), "depth": depth,
                       "filled": int((chosen.found[short] >= settings.num_negatives).sum())})
    still = chosen.found < settings.num_negatives
    return {"max_window": settings.max_window, "rounds": rounds,
            "anchors_deepened": rounds[0]["anchors"] if rounds else 0,
            "still_short": int(still.sum()), **({"stopped_by_memory": True} if memory_bound else {}),
            "still_short_at_max_window": int((still & (range_maxes >= settings.max_window)).sum()),
            **({"floor": round(floor, 6),
                "still_short_below_floor": int((still & (window_end < floor) & (range_maxes < cap)).sum())}
               if floor is not None else {}),
            "still_short_out_of_candidates": int((still & (range_maxes >= total)).sum()),
            "still_short_removed_by_rule": {rule: int(count) for rule, count in
                                            zip(RULES, chosen.removed[still].sum(axis=0)) if count}}


def _window_ends(parts: list[Ranked], range_maxes: np.ndarray) -> np.ndarray:
    """Per anchor, the score of the deepest candidate its window holds in the latest of `parts` that
    ranks it (-inf where none does, or where its list ended before the window: out of candidates)."""
    ends = np.full(len(range_maxes), -np.inf, dtype=np.float32)
    for part in parts:
        last = np.minimum(range_maxes[part.anchors], part.depth) - 1
        ok = last >= 0
        rows = np.nonzero(ok)[0]
        scores = part.scores[rows, last[ok]]
        ends[part.anchors[rows]] = np.where(part.candidate_rows[rows, last[ok]] >= 0, scores, -np.inf)
    return ends


def _rows(deep: Ranked, anchors: np.ndarray, depth: int) -> Ranked:
    """The part of `anchors` (some of deep's, ascending) ranked `depth` deep, cut from a deeper search:
    the exact ranking is the same at any depth (ties to the smaller id), so this is what searching
    each round anew found, without searching the deepest anchors once per round."""
    rows = np.searchsorted(deep.anchors, anchors)
    cut = lambda a: None if a is None else np.ascontiguousarray(a[rows, :depth])  # noqa: E731
    return Ranked(anchors, cut(deep.candidate_rows), cut(deep.scores), depth, cut(deep.near))

"""Positive-aware negative selection: which of an anchor's ranked candidates may be a negative.

Every anchor has a ranked candidate list (candidate index and score, best first, -1 where the
search found fewer). `eligible_candidates` walks the ranks inside the window and drops what may
never be a negative (a positive by id or by normalised text, the anchor itself, a near-duplicate of
a positive, a text already taken), then what the score rules forbid, each measured against the
anchor's lowest-scoring positive. What is left, in rank order, is what a sampler
(`cltool.mine.samplers`, kernels in `cltool.kernels.sample`) picks from. Anchors are independent, so
the work runs in parallel over anchors.

Each removed candidate is counted once, under the first rule (in RULES order) that removes it.
"""

from __future__ import annotations

from cltool.kernels import setup  # noqa: F401  (first: before Numba is imported)

import numpy as np
from numba import njit, prange

# Why a candidate inside the window was not eligible, in the order the rules are tried.
RULES = ("positive_id", "positive_text", "anchor", "near_duplicate", "duplicate_text",
         "max_score", "absolute_margin", "relative_margin", "min_score")
(POSITIVE_ID, POSITIVE_TEXT, ANCHOR, NEAR_DUPLICATE, DUPLICATE_TEXT,
 MAX_SCORE, ABSOLUTE_MARGIN, RELATIVE_MARGIN, MIN_SCORE) = range(len(RULES))
# Scores closer than this come from texts too alike to tell apart: only such neighbours in the
# ranking are compared for an identical text (an identical text scores identically, or within
# float rounding when it was embedded in another batch).
_SAME_SCORE = 1e-3


@njit(cache=True, nogil=True, parallel=True)
def positive_similarity(candidate_rows, positive_offsets, positive_rows, vectors, range_min, range_max):
    """Highest cosine between each candidate in the window and any of its anchor's positives.

    candidate_rows: (anchors, k) indices into `vectors` (unit rows), -1 for none; positive_rows holds
    the positives' rows in `vectors` for anchor a at positive_offsets[a]:positive_offsets[a + 1].
    Candidates outside the window, or with no positive to compare with, get NaN.
    """
    anchors, k = candidate_rows.shape
    dim = vectors.shape[1]
    out = np.full((anchors, k), np.nan, dtype=np.float32)
    hi = min(range_max, k)
    for a in prange(anchors):
        first, last = positive_offsets[a], positive_offsets[a + 1]
        for r in range(range_min, hi):
            c = candidate_rows[a, r]
            if c < 0:
                break
            best = -np.inf
            for p in range(first, last):
                row = positive_rows[p]
                if row < 0:
                    continue
                dot = 0.0
                for j in range(dim):
                    dot += vectors[c, j] * vectors[row, j]
                best = max(best, dot)
            if best > -np.inf:
                out[a, r] = best
    return out


@njit(cache=True, nogil=True, parallel=True)
def eligible_candidates(candidate_rows, candidate_scores, near_positive, candidate_keys, positive_offsets,
                        positive_rows, positive_keys, anchor_keys, lowest_positive, range_min, range_maxes,
                        max_score, absolute_margin, relative_margin, min_score, near_duplicate):
    """The ranks of each anchor's candidates that pass every rule (call it through
    `cltool.mine.select.eligible`, which names the arguments).

    Per anchor a (row of candidate_rows / candidate_scores / near_positive, best first):
      positive_rows[positive_offsets[a]:positive_offsets[a+1]]  candidate indices of its positives (-1: not a candidate)
      positive_keys[same slice]                                 their normalised-text keys
      anchor_keys[a]                                            its own normalised-text key
      lowest_positive[a]                                        the score of its lowest-scoring positive
    The window is ranks range_min .. range_maxes[a] - 1 (an anchor with many positives may look deeper).
    A rule given as NaN is off.

    Returns (eligible ranks (anchors, k - range_min) best first, -1 padded; how many per anchor;
    removals per anchor and rule (anchors, len(RULES))).
    """
    anchors, k = candidate_rows.shape
    eligible = np.full((anchors, max(k - range_min, 0)), -1, dtype=np.int32)
    counts = np.zeros(anchors, dtype=np.int32)
    removed = np.zeros((anchors, len(RULES)), dtype=np.int32)
    for a in prange(anchors):
        hi = min(range_maxes[a], k)
        m = 0
        pos = lowest_positive[a]
        first, last = positive_offsets[a], positive_offsets[a + 1]
        for r in range(range_min, hi):
            c = candidate_rows[a, r]
            if c < 0:
                break
            s = candidate_scores[a, r]
            key = candidate_keys[c]
            rule = -1
            for p in range(first, last):
                if positive_rows[p] == c:
                    rule = POSITIVE_ID
                    break
            if rule < 0:
                for p in range(first, last):
                    if positive_keys[p] == key:
                        rule = POSITIVE_TEXT
                        break
            if rule < 0 and key == anchor_keys[a]:
                rule = ANCHOR
            if rule < 0 and near_positive[a, r] >= near_duplicate:  # NaN on either side compares False
                rule = NEAR_DUPLICATE
            if rule < 0:
                i = m - 1
                while i >= 0 and candidate_scores[a, eligible[a, i]] - s <= _SAME_SCORE:
                    if candidate_keys[candidate_rows[a, eligible[a, i]]] == key:
                        rule = DUPLICATE_TEXT
                        break
                    i -= 1
            if rule < 0 and s > max_score:
                rule = MAX_SCORE
            if rule < 0 and s > pos - absolute_margin:
                rule = ABSOLUTE_MARGIN
            if rule < 0 and s > pos - abs(pos) * relative_margin:
                rule = RELATIVE_MARGIN
            if rule < 0 and s < min_score:
                rule = MIN_SCORE
            if rule >= 0:
                removed[a, rule] += 1
            else:
                eligible[a, m] = r
                m += 1
        counts[a] = m
    return eligible, counts, removed


@njit(cache=True, nogil=True)
def cap_reuse(chosen_rows, chosen_scores, chosen_ranks, option_offsets, option_rows, option_scores, option_ranks,
              candidates, cap):
    """No candidate a negative of more than `cap` anchors: anchors in input order keep their choices
    while a candidate's count is under the cap; past it, a slot takes the anchor's next option (its
    eligible candidates in rank order, option_* at option_offsets[a]:option_offsets[a + 1]) that it has
    not chosen and that is under the cap counting the later anchors that chose it, or keeps the hub
    where no option is left (a hub is still a safe negative, a missing one is a random fill).
    Sequential: each anchor's counts are the earlier ones'. In place; returns (replaced, kept over the
    cap)."""
    uses = np.zeros(candidates, dtype=np.int64)
    pending = np.zeros(candidates, dtype=np.int64)  # the anchors still to come that chose it: a replacement
    anchors, n = chosen_rows.shape                   # never takes the place they are owed under the cap
    for a in range(anchors):
        for s in range(n):
            if chosen_rows[a, s] >= 0:
                pending[chosen_rows[a, s]] += 1
    replaced = 0
    kept = 0
    for a in range(anchors):
        for s in range(n):
            c = chosen_rows[a, s]
            if c < 0:
                continue
            pending[c] -= 1
            if uses[c] < cap:
                uses[c] += 1
                continue
            taken = -1
            for o in range(option_offsets[a], option_offsets[a + 1]):
                e = option_rows[o]
                if uses[e] + pending[e] >= cap:
                    continue
                mine = False
                for t in range(n):
                    if chosen_rows[a, t] == e:
                        mine = True
                        break
                if not mine:
                    taken = o
                    break
            if taken < 0:
                uses[c] += 1
                kept += 1
                continue
            chosen_rows[a, s] = option_rows[taken]
            chosen_scores[a, s] = option_scores[taken]
            chosen_ranks[a, s] = option_ranks[taken]
            uses[option_rows[taken]] += 1
            replaced += 1
    return replaced, kept


@njit(cache=True, nogil=True, parallel=True)
def positive_ranks(part_rows, row_scores, ranked_rows, ranked_scores, positive_offsets, positive_rows, complete):
    """Per row: how many of its anchor's ranked candidates that are none of the anchor's positives score
    above the row's own positive (0: it is the anchor's nearest text but for its other positives). The
    row's anchor is row part_rows[i] of the ranking; positives as CSR over those rows. -1 where the
    ranking ends above the positive's score and is not `complete` (the positive lies deeper than the
    search went)."""
    n = len(part_rows)
    depth = ranked_rows.shape[1]
    out = np.full(n, -1, dtype=np.int32)
    for i in prange(n):
        r = part_rows[i]
        s = row_scores[i]
        above = 0
        known = complete
        for k in range(depth):
            c = ranked_rows[r, k]
            if c < 0 or ranked_scores[r, k] <= s:
                known = True
                break
            positive = False
            for p in range(positive_offsets[r], positive_offsets[r + 1]):
                if positive_rows[p] == c:
                    positive = True
                    break
            if not positive:
                above += 1
        if known:
            out[i] = above
    return out

"""Positive-aware negative selection: exclusion, score rules, rank window and sampling, per anchor.

Every anchor has a ranked candidate list (candidate index and score, best first, -1 where the
search found fewer). `select_negatives` walks the ranks inside the window, drops what may never be
a negative (a positive by id or by normalised text, the anchor itself, a near-duplicate of a
positive, a text already taken), then what the score rules forbid, each measured against the
anchor's lowest-scoring positive; it samples from what is left. Anchors are independent, so the
work runs in parallel over anchors, and each anchor draws from its own random stream (seeded from
its id), so the result depends neither on threads nor on which other anchors are in the input.

Each removed candidate is counted once, under the first rule (in RULES order) that removes it.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# Why a candidate inside the window was not eligible, in the order the rules are tried.
RULES = ("positive_id", "positive_text", "anchor", "near_duplicate", "duplicate_text",
         "max_score", "absolute_margin", "relative_margin", "min_score")
(POSITIVE_ID, POSITIVE_TEXT, ANCHOR, NEAR_DUPLICATE, DUPLICATE_TEXT,
 MAX_SCORE, ABSOLUTE_MARGIN, RELATIVE_MARGIN, MIN_SCORE) = range(len(RULES))
SAMPLING = ("top", "random", "simans")
# Scores closer than this come from texts too alike to tell apart: only such neighbours in the
# ranking are compared for an identical text (an identical text scores identically, or within
# float rounding when it was embedded in another batch).
_SAME_SCORE = 1e-3

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@njit(cache=True, nogil=True, inline="always")
def _splitmix64(state):
    """One step of SplitMix64: (next state, 64 random bits). Cheap, and easy to repeat in NumPy."""
    state = state + _GOLDEN
    z = state
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return state, z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True, inline="always")
def _uniform(bits):
    """Uniform in (0, 1), never 0 or 1: the top 53 bits, centred in their cell."""
    return ((bits >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


@njit(cache=True, nogil=True, parallel=True)
def positive_similarity(candidate_ids, positive_offsets, positive_rows, vectors, range_min, range_max):
    """Highest cosine between each candidate in the window and any of its anchor's positives.

    candidate_ids: (anchors, k) indices into `vectors` (unit rows), -1 for none; positive_rows holds
    the positives' rows in `vectors` for anchor a at positive_offsets[a]:positive_offsets[a + 1].
    Candidates outside the window, or with no positive to compare with, get NaN.
    """
    anchors, k = candidate_ids.shape
    dim = vectors.shape[1]
    out = np.full((anchors, k), np.nan, dtype=np.float32)
    hi = min(range_max, k)
    for a in prange(anchors):
        first, last = positive_offsets[a], positive_offsets[a + 1]
        for r in range(range_min, hi):
            c = candidate_ids[a, r]
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
def select_negatives(candidate_ids, candidate_scores, near_positive, candidate_keys, positive_offsets,
                     positive_ids, positive_keys, anchor_keys, lowest_positive,
                     range_min, range_maxes, max_score, absolute_margin, relative_margin, min_score,
                     near_duplicate, num_negatives, sampling, simans_a, simans_b, seeds):
    """Choose up to num_negatives negatives per anchor.

    Per anchor a (row of candidate_ids / candidate_scores / near_positive, best first):
      positive_ids[positive_offsets[a]:positive_offsets[a+1]]  candidate indices of its positives (-1: not a candidate)
      positive_keys[same slice]                                 their normalised-text keys
      anchor_keys[a]                                            its own normalised-text key
      lowest_positive[a]                                        the score of its lowest-scoring positive
    The window is ranks range_min .. range_maxes[a] - 1 (an anchor with many positives may look deeper).
    A rule given as NaN is off. sampling: 0 top, 1 random, 2 SimANS (weight exp(-a (s - pos - b)^2)).

    Returns (chosen ranks (anchors, num_negatives) best first, -1 padded; eligible candidates per
    anchor; removals per anchor and rule (anchors, len(RULES))).
    """
    anchors, k = candidate_ids.shape
    chosen = np.full((anchors, num_negatives), -1, dtype=np.int32)
    eligible_count = np.zeros(anchors, dtype=np.int32)
    removed = np.zeros((anchors, len(RULES)), dtype=np.int32)
    for a in prange(anchors):
        hi = min(range_maxes[a], k)
        eligible = np.empty(max(hi - range_min, 0), dtype=np.int32)
        m = 0
        pos = lowest_positive[a]
        first, last = positive_offsets[a], positive_offsets[a + 1]
        for r in range(range_min, hi):
            c = candidate_ids[a, r]
            if c < 0:
                break
            s = candidate_scores[a, r]
            key = candidate_keys[c]
            rule = -1
            for p in range(first, last):
                if positive_ids[p] == c:
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
                while i >= 0 and candidate_scores[a, eligible[i]] - s <= _SAME_SCORE:
                    if candidate_keys[candidate_ids[a, eligible[i]]] == key:
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
                eligible[m] = r
                m += 1
        eligible_count[a] = m
        take = min(m, num_negatives)
        if sampling == 0 or m <= num_negatives:
            for i in range(take):
                chosen[a, i] = eligible[i]
            continue
        # Without replacement, in proportion to the weights: the Gumbel-top-k trick (the n largest
        # log-weight + Gumbel noise are a weighted sample without replacement).
        state = seeds[a]
        keys = np.empty(m, dtype=np.float64)
        for i in range(m):
            state, bits = _splitmix64(state)
            gumbel = -np.log(-np.log(_uniform(bits)))
            log_weight = 0.0
            if sampling == 2:
                d = candidate_scores[a, eligible[i]] - pos - simans_b
                log_weight = -simans_a * d * d
            keys[i] = log_weight + gumbel
        order = np.argsort(-keys, kind="mergesort")[:take]
        picked = np.sort(eligible[order])  # ranks ascending: best first
        for i in range(take):
            chosen[a, i] = picked[i]
    return chosen, eligible_count, removed

"""Sampling among each anchor's eligible candidates (`cltool.mine.samplers` calls these).

A weighted sample without replacement uses the Gumbel-top-k trick: the n largest of
log-weight + Gumbel noise are a sample in proportion to the weights. Each anchor draws from its own
SplitMix64 stream, seeded from its id, so the result depends neither on threads nor on which other
anchors are in the input.
"""

from __future__ import annotations

from cltool.kernels import setup  # noqa: F401  (first: before Numba is imported)

import numpy as np
from numba import njit, prange

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
def gumbel_top_k(eligible, counts, log_weights, num, seeds):
    """Up to num of each anchor's eligible ranks, drawn without replacement in proportion to
    exp(log_weights[a, i]) (uniformly when log_weights has no columns); an anchor with no more than
    num eligible keeps them all. Returns (anchors, num) ranks ascending (best first), -1 padded."""
    anchors = eligible.shape[0]
    weighted = log_weights.shape[1] > 0
    chosen = np.full((anchors, num), -1, dtype=np.int32)
    for a in prange(anchors):
        m = counts[a]
        take = min(m, num)
        if m <= num:
            for i in range(take):
                chosen[a, i] = eligible[a, i]
            continue
        state = seeds[a]
        keys = np.empty(m, dtype=np.float64)
        for i in range(m):
            state, bits = _splitmix64(state)
            gumbel = -np.log(-np.log(_uniform(bits)))
            log_weight = log_weights[a, i] if weighted else 0.0
            keys[i] = log_weight + gumbel
        order = np.argsort(-keys, kind="mergesort")[:take]
        picked = np.sort(eligible[a, :m][order])  # ranks ascending: best first
        for i in range(take):
            chosen[a, i] = picked[i]
    return chosen


@njit(cache=True, nogil=True, parallel=True)
def simans_log_weights(eligible, counts, candidate_scores, lowest_positive, simans_a, simans_b):
    """SimANS's log-weight of each eligible candidate: -a (s - pos - b)^2, pos being the anchor's
    lowest positive score (so candidates scoring near pos + b are drawn most)."""
    anchors, width = eligible.shape
    out = np.zeros((anchors, width), dtype=np.float64)
    for a in prange(anchors):
        pos = lowest_positive[a]
        for i in range(counts[a]):
            d = candidate_scores[a, eligible[a, i]] - pos - simans_b
            out[a, i] = -simans_a * d * d
    return out

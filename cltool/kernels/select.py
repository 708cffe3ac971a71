"""Which rows to keep once similarities are known: deterministic, greedy, first-come.

Rows are visited in a preference order (rank 0 first). A row is removed when it is similar enough
to a row that was visited before it *and kept*; it then names that row as the one it duplicates.
So every removed row has a kept row at or above the threshold, and no chain of "A like B like C"
ever removes C for resembling a row that is itself gone.
"""

from __future__ import annotations

from cltool.kernels import setup  # noqa: F401  (first: before Numba is imported)

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def keep_first(n, left, right, similarity, threshold):
    """Pairs (left, right) are row ranks with left < right. Returns (kept, duplicate_of, score):
    duplicate_of is -1 for kept rows; score is the similarity to the row duplicated."""
    kept = np.ones(n, dtype=np.bool_)
    duplicate_of = np.full(n, -1, dtype=np.int64)
    score = np.zeros(n, dtype=np.float32)
    order = np.argsort(right, kind="mergesort")
    p = 0
    while p < len(order):
        row = right[order[p]]
        best, best_sim = -1, np.float32(-2.0)
        while p < len(order) and right[order[p]] == row:
            q = order[p]
            other = left[q]
            if kept[other] and similarity[q] >= threshold:
                if similarity[q] > best_sim or (similarity[q] == best_sim and other < best):
                    best, best_sim = other, similarity[q]
            p += 1
        if best >= 0:
            kept[row] = False
            duplicate_of[row] = best
            score[row] = best_sim
    return kept, duplicate_of, score


@njit(cache=True, nogil=True)
def pairs_above(block, query_rows, visiting, target_rows, ranks, vectors, threshold, tolerance, cap):
    """The pairs of a dense block at or above `threshold`: block[r, c] is the float32 similarity of
    row query_rows[r] to row target_rows[c], targets in rank order. For each query, up to `cap` of the
    targets ranked before it, earliest first; for a visiting query (one from another cluster, which
    is not itself a target) also up to `cap` of those ranked after it. Returns (the earlier row of
    each pair, the later one, its exact float64 cosine).

    A BLAS product rounds a similarity differently with the block's shape and the threads, so the
    block only finds the pairs within `tolerance` of the threshold; each is then decided on its exact
    float64 dot product, which depends on nothing else."""
    dim = vectors.shape[1]
    size = block.shape[0] * 2 * min(cap, block.shape[1])
    left = np.empty(size, dtype=np.int64)
    right = np.empty(size, dtype=np.int64)
    cosine = np.empty(size, dtype=np.float64)
    count = 0
    for r in range(block.shape[0]):
        query = query_rows[r]
        before = after = 0
        for c in range(block.shape[1]):
            target = target_rows[c]
            earlier = ranks[target] < ranks[query]
            if not earlier and (not visiting[r] or target == query):
                break  # a home query meets the targets after it as their own query
            if (before if earlier else after) == cap:
                if earlier:
                    continue
                break
            if block[r, c] >= threshold - tolerance:
                exact = 0.0
                for d in range(dim):
                    exact += np.float64(vectors[query, d]) * np.float64(vectors[target, d])
                if exact >= threshold:
                    if earlier:
                        left[count], right[count] = target, query
                        before += 1
                    else:
                        left[count], right[count] = query, target
                        after += 1
                    cosine[count] = exact
                    count += 1
    # copies: a view would keep the whole worst-case buffer (24 bytes x 2 x cap per query) alive
    # while the caller gathers every block's pairs, 0.6 GB on 135k rows
    return left[:count].copy(), right[:count].copy(), cosine[:count].copy()

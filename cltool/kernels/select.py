"""Which rows to keep once similarities are known: deterministic, greedy, first-come.

Rows are visited in a preference order (rank 0 first). A row is removed when it is similar enough
to a row that was visited before it *and kept*; it then names that row as the one it duplicates.
So every removed row has a kept row at or above the threshold, and no chain of "A like B like C"
ever removes C for resembling a row that is itself gone.
"""

from __future__ import annotations

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
def keep_first_dense(block, offset, vectors, kept, duplicate_of, score, threshold, tolerance):
    """The same rule over a dense block of similarities: block[r, c] is the float32 similarity of
    member `offset + r` to member `c` (members in preference order, `vectors` their rows). Updates
    kept/duplicate_of/score.

    A BLAS product rounds a similarity differently with the block's shape and the threads, so the
    block only finds the pairs within `tolerance` of the threshold; each is then decided (and the
    most similar kept row chosen) on its exact float64 dot product, which depends on nothing else."""
    dim = vectors.shape[1]
    for r in range(block.shape[0]):
        row = offset + r
        best, best_sim = -1, -2.0
        for c in range(row):
            if kept[c] and block[r, c] >= threshold - tolerance:
                exact = 0.0
                for d in range(dim):
                    exact += np.float64(vectors[row, d]) * np.float64(vectors[c, d])
                if exact >= threshold and exact > best_sim:
                    best, best_sim = c, exact
        if best >= 0:
            kept[row] = False
            duplicate_of[row] = best
            score[row] = best_sim

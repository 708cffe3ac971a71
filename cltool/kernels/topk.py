"""Top-k selection over blocks of scores, for exact search without a queries x candidates matrix.

The caller scores one block of candidates at a time (a BLAS product: queries x block) and merges
it into a running top-k per query. Rows are independent, so the merge runs in parallel over
queries. Ties are broken by the smaller candidate id, so the result does not depend on the block
size or on thread scheduling.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


def empty_topk(queries: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Running top-k state: scores (-inf when empty) and candidate ids (-1 when empty), best first."""
    return np.full((queries, k), -np.inf, dtype=np.float32), np.full((queries, k), -1, dtype=np.int64)


@njit(cache=True, nogil=True, inline="always")
def _better(score_a, id_a, score_b, id_b):
    return score_a > score_b or (score_a == score_b and id_a < id_b and id_a >= 0)


@njit(cache=True, nogil=True, parallel=True)
def merge_block(block, first_id, top_scores, top_ids):
    """Merge scores of candidates first_id .. first_id + block.shape[1] - 1 into the running top-k
    of each query (in place). A candidate enters only if it beats the current k-th, found by
    insertion into the sorted row: O(k) per entering candidate, and few enter once the row fills."""
    queries, width = block.shape
    k = top_scores.shape[1]
    for q in prange(queries):
        scores, ids = top_scores[q], top_ids[q]
        row = block[q]
        bar = scores[k - 1]
        for c in range(width):
            s = row[c]
            if s < bar:  # nearly every score stops here: one comparison
                continue
            cid = first_id + c
            if np.isnan(s) or not _better(s, cid, scores[k - 1], ids[k - 1]):
                continue
            pos = k - 1
            while pos > 0 and _better(s, cid, scores[pos - 1], ids[pos - 1]):
                scores[pos] = scores[pos - 1]
                ids[pos] = ids[pos - 1]
                pos -= 1
            scores[pos] = s
            ids[pos] = cid
            bar = scores[k - 1]

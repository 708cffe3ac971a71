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
    """Running top-k state: scores (-inf when empty) and candidate ids (-1 when empty), best first.
    Ids are int32: 2 billion candidates is beyond one machine, and at 1M queries x k=60 it saves 240 MB."""
    return np.full((queries, k), -np.inf, dtype=np.float32), np.full((queries, k), -1, dtype=np.int32)


@njit(cache=True, nogil=True, inline="always")
def _better(score_a, id_a, score_b, id_b):
    return score_a > score_b or (score_a == score_b and id_a < id_b and id_a >= 0)


@njit(cache=True, nogil=True, inline="always")
def _merge_row(row, candidate_ids, first_id, scores, ids):
    """Merge one query's scores into its sorted top-k. Column c is candidate candidate_ids[c], or
    first_id + c when candidate_ids is empty. A candidate enters only if it beats the current k-th,
    by insertion: O(k) per entering candidate, and few enter once the row is full."""
    k = scores.shape[0]
    bar = scores[k - 1]
    for c in range(row.shape[0]):
        s = row[c]
        if s < bar:  # nearly every score stops here: one comparison
            continue
        cid = candidate_ids[c] if candidate_ids.shape[0] else first_id + c
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


@njit(cache=True, nogil=True, parallel=True)
def merge_block(block, first_id, top_scores, top_ids):
    """Merge the scores of candidates first_id .. first_id + block.shape[1] - 1 (columns) into the
    running top-k of each query (rows), in place."""
    consecutive = np.empty(0, dtype=np.int64)
    for q in prange(block.shape[0]):
        _merge_row(block[q], consecutive, first_id, top_scores[q], top_ids[q])


@njit(cache=True, nogil=True, parallel=True)
def merge_rows(block, candidate_ids, rows, top_scores, top_ids):
    """Like merge_block, for a block whose rows are the queries `rows` (distinct) and whose columns
    are the candidates `candidate_ids`: one inverted list of an IVF search, scored by one product."""
    for r in prange(block.shape[0]):
        _merge_row(block[r], candidate_ids, 0, top_scores[rows[r]], top_ids[rows[r]])


@njit(cache=True, nogil=True)
def invert_lists(probes, lists):
    """For an IVF search: probes[q] are the lists query q visits; returns, for each list, the queries
    that visit it (queries[starts[l]:starts[l + 1]], ascending), by a counting sort."""
    counts = np.zeros(lists + 1, dtype=np.int64)
    for q in range(probes.shape[0]):
        for j in range(probes.shape[1]):
            counts[probes[q, j] + 1] += 1
    starts = np.cumsum(counts)
    fill = starts[:-1].copy()
    queries = np.empty(probes.size, dtype=np.int32)
    for q in range(probes.shape[0]):
        for j in range(probes.shape[1]):
            cell = probes[q, j]
            queries[fill[cell]] = q
            fill[cell] += 1
    return starts, queries

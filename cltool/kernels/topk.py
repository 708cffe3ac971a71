"""Top-k selection over blocks of scores, for exact search without a queries x candidates matrix.

The caller scores one block of candidates at a time (a BLAS product: queries x block) and merges
it into a running top-k per query. Rows are independent, so the merge runs in parallel over
queries. Ties are broken by the smaller candidate id, so the result does not depend on the block
size or on thread scheduling.
"""

from __future__ import annotations

from cltool.kernels import setup  # noqa: F401  (first: before Numba is imported)

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic, overload


@intrinsic
def _float32_from_bits(typingctx, bits):
    """The float32 whose bit pattern is the int32 `bits` (an LLVM bitcast, which vectorizes)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


def _score(value):
    """A block's entry as a float score: itself, or for an int16 block (the bit patterns of bf16
    scores, as a bf16 product writes them) the float32 it stands for, exactly."""
    raise NotImplementedError  # compiled only, through the overload below


@overload(_score, inline="always")
def _score_overload(value):
    if isinstance(value, types.Integer):
        return lambda value: _float32_from_bits(np.int32(value) << 16)
    return lambda value: value


def empty_topk(queries: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Running top-k state: scores (-inf when empty) and candidate ids (-1 when empty), best first.
    Ids are int32: 2 billion candidates is beyond one machine, and at 1M queries x k=60 it saves 240 MB."""
    return np.full((queries, k), -np.inf, dtype=np.float32), np.full((queries, k), -1, dtype=np.int32)


@njit(cache=True, nogil=True, inline="always")
def _better(score_a, id_a, score_b, id_b):
    return score_a > score_b or (score_a == score_b and id_a < id_b and id_a >= 0)


@njit(cache=True, nogil=True, inline="always")
def _insertion_sort(scores, ids, count):
    """Sort the first `count` pairs best first (score descending, then smaller id): quick for a few
    pairs or for pairs nearly in order."""
    for j in range(1, count):
        s, c = scores[j], ids[j]
        i = j
        while i > 0 and _better(s, c, scores[i - 1], ids[i - 1]):
            scores[i], ids[i] = scores[i - 1], ids[i - 1]
            i -= 1
        scores[i], ids[i] = s, c


@njit(cache=True, nogil=True, inline="always")
def _sort_buffer(new_scores, new_ids, count):
    """Sort the first `count` buffered pairs best first (score descending, then smaller id)."""
    if count <= 32:  # a few entrants, the usual case
        _insertion_sort(new_scores, new_ids, count)
        return
    order = np.argsort(-new_scores[:count], kind="mergesort")
    sorted_scores, sorted_ids = new_scores[:count][order], new_ids[:count][order]
    new_scores[:count], new_ids[:count] = sorted_scores, sorted_ids
    for j in range(1, count):  # equal scores: the smaller id first (runs of ties are short)
        i = j
        while i > 0 and new_scores[i] == new_scores[i - 1] and new_ids[i] < new_ids[i - 1]:
            new_ids[i], new_ids[i - 1] = new_ids[i - 1], new_ids[i]
            i -= 1


@njit(cache=True, nogil=True, inline="always")
def _flush(new_scores, new_ids, count, scores, ids, merged_scores, merged_ids):
    """Merge `count` buffered (score, id) pairs into the sorted top-k (scores, ids), in place."""
    _sort_buffer(new_scores, new_ids, count)
    k = scores.shape[0]
    a = b = 0
    for t in range(k):
        if b < count and _better(new_scores[b], new_ids[b], scores[a], ids[a]):
            merged_scores[t], merged_ids[t] = new_scores[b], new_ids[b]
            b += 1
        else:
            merged_scores[t], merged_ids[t] = scores[a], ids[a]
            a += 1
    scores[:] = merged_scores
    ids[:] = merged_ids


_BINS = 2048
# columns a merge tests at once before it looks at any one of them
_SPAN = 64
# a row's first bar is the k-th best of this many columns (or 16k): the whole block's k-th cost three
# passes over it, more than the entrants a bar read off 2,048 columns lets in at k = 98-151; at k = 460
# a bar off 2,048 columns is only the 22% quantile, and the first block's merge took 0.92-1.03 s per
# 16k code-pair queries against 0.69 s off 7,360
_BAR_COLUMNS = 2048


@njit(cache=True, nogil=True, inline="always")
def _kth_best(row, k, scratch, counts):
    """The k-th largest score of `row` (NaN and -inf left out; -inf when fewer than k remain).

    A histogram of the row (2048 bins between its least and greatest score) finds the bin that
    holds the k-th best; only that bin's scores are then selected among: three plain passes, about
    four times faster than a quickselect over the whole row."""
    low, high, valid = np.inf, -np.inf, 0
    for c in range(row.shape[0]):
        s = _score(row[c])
        if s > -np.inf:
            valid += 1
            low = min(low, s)
            high = max(high, s)
    if valid < k:
        return -np.inf
    if high == low or high == np.inf:  # one value (or +inf): no range to bin over
        count = 0
        for c in range(row.shape[0]):
            if _score(row[c]) > -np.inf:
                scratch[count] = _score(row[c])
                count += 1
        return _select(scratch, count, k)
    scale = (_BINS - 1) / (np.float64(high) - np.float64(low))
    counts[:] = 0
    for c in range(row.shape[0]):
        s = _score(row[c])
        if s > -np.inf:
            counts[min(int((np.float64(s) - low) * scale), _BINS - 1)] += 1
    above, b = 0, _BINS - 1  # scores in the bins above b (all greater than b's)
    while above + counts[b] < k:
        above += counts[b]
        b -= 1
    count = 0
    for c in range(row.shape[0]):
        s = _score(row[c])
        if s > -np.inf and min(int((np.float64(s) - low) * scale), _BINS - 1) == b:
            scratch[count] = s
            count += 1
    return _select(scratch, count, k - above)


@njit(cache=True, nogil=True, inline="always")
def _select(values, count, k):
    """The k-th largest of values[:count] (1 <= k <= count), by quickselect, reordering them. Should
    a partition round go badly (a hostile order) too often, the least of the maxima of k disjoint
    slices, a lower bound of the k-th largest, is returned instead."""
    lo, hi, target = 0, count - 1, k - 1
    rounds = 0
    while lo < hi:
        rounds += 1
        if rounds > 64:
            floor = np.inf
            for j in range(k):
                top = -np.inf
                for i in range(j * count // k, (j + 1) * count // k):
                    top = max(top, values[i])
                floor = min(floor, top)
            return floor
        first, middle, last = values[lo], values[(lo + hi) // 2], values[hi]
        pivot = max(min(first, middle), min(max(first, middle), last))  # the median of three
        i, j = lo, hi
        while i <= j:  # Hoare: larger values to the left
            while values[i] > pivot:
                i += 1
            while values[j] < pivot:
                j -= 1
            if i <= j:
                values[i], values[j] = values[j], values[i]
                i += 1
                j -= 1
        if target <= j:
            hi = j
        elif target >= i:
            lo = i
        else:
            return values[target]
    return values[target]


@njit(cache=True, nogil=True, inline="always")
def _raise_bar(new_scores, new_ids, count, scores, bar, scratch):
    """A full buffer of entrants, without sorting it: the new bar is the k-th best of the buffer and
    the kept top-k together (quickselect over a copy), and the entrants below it are dropped (their
    order kept). Returns (bar, count left). Sorting 2k entrants per flush was most of the merge of
    a row's first block, where the bar rises from low."""
    k = scores.shape[0]
    pool = 0
    for j in range(k):
        if scores[j] > -np.inf:
            scratch[pool] = scores[j]
            pool += 1
    for j in range(count):
        scratch[pool] = new_scores[j]
        pool += 1
    if pool < k:
        return bar, count
    bar = max(bar, _select(scratch, pool, k))
    kept = 0
    for j in range(count):
        if new_scores[j] >= bar:
            new_scores[kept], new_ids[kept] = new_scores[j], new_ids[j]
            kept += 1
    return bar, kept


# Not inlined into the parallel `_merge`: Numba's parfor passes (array analysis, hoisting) then
# rewrote its in-place buffer updates wrongly (a lost entrant, a false size check at run time), on
# rows whose ties at the bar kept the buffer nearly full. As a call it compiles as plain serial code.
@njit(cache=True, nogil=True)
def _merge_row(row, candidate_ids, first_id, scores, ids, new_scores, new_ids, merged_scores, merged_ids,
               scratch, counts, hits):
    """Merge one query's scores into its sorted top-k (scores, ids). Column c is candidate
    candidate_ids[c], or first_id + c when candidate_ids is empty.

    Nearly every score fails one comparison with the current k-th and costs nothing more. The few
    that pass are buffered (new_*, 2k long) and merged 2k at a time (a sort and one merge pass), not
    inserted one by one at O(k) each, which made a deep top-k (k in the hundreds) several times slower."""
    k = scores.shape[0]
    width = row.shape[0]
    bar = scores[k - 1]
    if bar == -np.inf and width >= 2 * k:
        # A row that is not full yet would let the whole block in. The k-th best of the block's first
        # _BAR_COLUMNS (or 16k) scores is a floor of the block's own (the least of k slice maxima, before,
        # let in about a sixth of the block); the entrants past them raise it as they come.
        bar = _kth_best(row[:max(_BAR_COLUMNS, 16 * k)], k, scratch, counts)
    capacity = new_scores.shape[0]
    count = 0
    for start in range(0, width, _SPAN):
        end = min(start + _SPAN, width)
        # a branch-free count over the span (SIMD compares): most spans hold no score at the bar
        # and are passed over whole, several times faster than testing every score with a branch
        span = row[start:end]
        if end - start == _SPAN:  # a fixed trip count over a slice: LLVM vectorizes only this form
            passing = 0
            for j in range(_SPAN):
                passing += np.int32(_score(span[j]) >= bar)
            if passing == 0:
                continue
        # the positions at the bar, without a branch per score (one mispredicted per entrant cost
        # more than the compares): every position written, the count advanced by the test
        found = 0
        for j in range(end - start):
            hits[found] = j
            found += np.int32(_score(span[j]) >= bar)
        for h in range(found):
            c = start + hits[h]
            s = _score(row[c])
            if s < bar or not s > -np.inf:  # the bar rose since the span was tested; -inf
                continue
            new_scores[count] = s
            new_ids[count] = candidate_ids[c] if candidate_ids.shape[0] else first_id + c
            count += 1
            if count == capacity:
                bar, count = _raise_bar(new_scores, new_ids, count, scores, bar, scratch)
                if count >= capacity - k // 2:  # ties at the bar held on to the buffer: merge it
                    _flush(new_scores, new_ids, count, scores, ids, merged_scores, merged_ids)
                    count = 0
                    bar = max(bar, scores[k - 1])
    if count:
        _flush(new_scores, new_ids, count, scores, ids, merged_scores, merged_ids)


@njit(cache=True, nogil=True, parallel=True)
def _merge(block, candidate_ids, first_id, rows, top_scores, top_ids):
    """Rows are split into a few chunks per thread; each chunk allocates its buffers once."""
    n, k = block.shape[0], top_scores.shape[1]
    chunks = min(n, 64)
    for chunk in prange(chunks):
        new_scores = np.empty(2 * k, dtype=top_scores.dtype)
        new_ids = np.empty(2 * k, dtype=np.int64)
        merged_scores = np.empty(k, dtype=top_scores.dtype)
        merged_ids = np.empty(k, dtype=top_ids.dtype)
        scratch = np.empty(max(block.shape[1], 3 * k), dtype=top_scores.dtype)
        counts = np.empty(_BINS, dtype=np.int64)
        hits = np.empty(_SPAN, dtype=np.int64)
        for r in range(chunk * n // chunks, (chunk + 1) * n // chunks):
            q = rows[r] if rows.shape[0] else r
            _merge_row(block[r], candidate_ids, first_id, top_scores[q], top_ids[q], new_scores, new_ids,
                       merged_scores, merged_ids, scratch, counts, hits)


_NONE = np.empty(0, dtype=np.int64)


def merge_block(block: np.ndarray, first_id: int, top_scores: np.ndarray, top_ids: np.ndarray) -> None:
    """Merge the scores of candidates first_id .. first_id + block.shape[1] - 1 (columns) into the
    running top-k of each query (rows), in place. The block is float32 scores, or int16: the bit
    patterns of bf16 scores (a bf16 product's output, viewed as int16), merged as the exact float32
    values they stand for."""
    _merge(block, _NONE, first_id, _NONE, top_scores, top_ids)


def merge_rows(block: np.ndarray, candidate_ids: np.ndarray, rows: np.ndarray, top_scores: np.ndarray,
               top_ids: np.ndarray) -> None:
    """Like merge_block, for a block whose rows are the queries `rows` (distinct) and whose columns
    are the candidates `candidate_ids`: one inverted list of an IVF search, scored by one product."""
    _merge(block, candidate_ids, 0, rows, top_scores, top_ids)


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


@njit(cache=True, nogil=True, parallel=True)
def _gather(matrix, rows, out):
    for i in prange(rows.shape[0]):
        source = rows[i]
        for j in range(matrix.shape[1]):
            out[i, j] = matrix[source, j]


def gather_rows(matrix: np.ndarray, rows: np.ndarray, buffer: np.ndarray) -> np.ndarray:
    """matrix[rows], written into the front of the flat `buffer` (reused, so never faulted in again)
    by both cores: an IVF scan gathers every query once per list it probes."""
    out = buffer[:len(rows) * matrix.shape[1]].reshape(len(rows), matrix.shape[1])
    _gather(matrix, rows, out)
    return out


@njit(cache=True, nogil=True, parallel=True)
def rescore_topk(queries, candidates, top_scores, top_ids):
    """Recompute each kept (query, candidate) score as one float64 dot product, in place, and re-sort
    the row (score descending, then smaller id). A BLAS product rounds the same score differently
    depending on the shape of the block it came in (how queries were partitioned, how many threads);
    this makes the scores, and so the whole output, independent of that."""
    n, k = top_ids.shape
    dim = queries.shape[1]
    for q in prange(n):
        count = 0
        while count < k and top_ids[q, count] >= 0:
            count += 1
        # four candidates at a time: four independent sums in flight, not one chain of dependent adds
        # waiting on each other; each is still summed over d in order, so its bits are the one-at-a-time
        # sum's
        j = 0
        while j + 4 <= count:
            c0, c1, c2, c3 = top_ids[q, j], top_ids[q, j + 1], top_ids[q, j + 2], top_ids[q, j + 3]
            t0 = t1 = t2 = t3 = 0.0
            for d in range(dim):
                x = np.float64(queries[q, d])
                t0 += x * np.float64(candidates[c0, d])
                t1 += x * np.float64(candidates[c1, d])
                t2 += x * np.float64(candidates[c2, d])
                t3 += x * np.float64(candidates[c3, d])
            top_scores[q, j], top_scores[q, j + 1] = np.float32(t0), np.float32(t1)
            top_scores[q, j + 2], top_scores[q, j + 3] = np.float32(t2), np.float32(t3)
            j += 4
        for j in range(j, count):
            c = top_ids[q, j]
            total = 0.0
            for d in range(dim):
                total += np.float64(queries[q, d]) * np.float64(candidates[c, d])
            top_scores[q, j] = np.float32(total)
        _insertion_sort(top_scores[q], top_ids[q], count)  # rows are nearly sorted already

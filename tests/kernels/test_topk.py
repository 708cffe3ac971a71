"""The blockwise top-k merge against a full sort of the whole score matrix."""

import numpy as np
import pytest

from cltool.kernels.topk import empty_topk, merge_block


def reference(scores, k):
    ids = np.arange(scores.shape[1])
    out_scores, out_ids = [], []
    for row in scores:
        order = np.lexsort((ids, -row))[:k]  # best score first, smaller id on ties
        out_scores.append(row[order])
        out_ids.append(ids[order])
    return np.array(out_scores), np.array(out_ids)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("block", [1, 7, 64, 1000])
def test_blockwise_topk_equals_a_full_sort(seed, block):
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(25, 300)).astype(np.float32)
    scores[:, 10:20] = scores[:, :10]  # ties: the smaller id must win, whatever the blocks
    top_scores, top_ids = empty_topk(25, 12)
    for start in range(0, 300, block):
        merge_block(np.ascontiguousarray(scores[:, start:start + block]), start, top_scores, top_ids)
    expected_scores, expected_ids = reference(scores, 12)
    np.testing.assert_array_equal(top_ids, expected_ids)
    np.testing.assert_array_equal(top_scores, expected_scores)


def hostile_rows(rng, width):
    """Rows a first block may hold: heavy ties, one repeated value, NaN and -inf among the scores,
    +inf, a narrow range, fewer valid scores than k, and an order sorted either way."""
    rows = [rng.normal(size=width), np.round(rng.normal(size=width), 1), np.full(width, 0.25),
            np.sort(rng.normal(size=width)), np.sort(rng.normal(size=width))[::-1],
            1.0 - rng.random(width) * 1e-6, rng.normal(size=width)]
    rows[-1][::3] = np.nan
    rows[-1][1::3] = -np.inf
    with_inf = rng.normal(size=width)
    with_inf[[5, 17, 40]] = np.inf
    sparse = np.full(width, -np.inf)
    sparse[:9] = rng.normal(size=9)
    return np.array(rows + [with_inf, sparse], dtype=np.float32)


@pytest.mark.parametrize("width", [400, 6000])
@pytest.mark.parametrize("k", [1, 9, 40, 100, 300])
def test_a_first_block_merged_at_its_kth_score_equals_a_full_sort(k, width):
    """A row with no top-k yet is cut at the k-th best score of its first 2,048 columns, or 16k for a
    deep k (4,800 of 6,000 at k = 300) (a histogram,
    then selection in one bin); past them (width 6000) the entrants fill the buffer again and again
    (an ascending row: every one), each time raising the bar by selection. Whatever the scores, the
    result is a full sort's, NaN and -inf left out, ties to the smaller id."""
    rng = np.random.default_rng(k)
    scores = hostile_rows(rng, width)
    top_scores, top_ids = empty_topk(len(scores), k)
    merge_block(scores, 0, top_scores, top_ids)
    for row, got_scores, got_ids in zip(scores, top_scores, top_ids):
        valid = np.nonzero(row > -np.inf)[0]
        order = valid[np.lexsort((valid, -row[valid]))][:k]
        np.testing.assert_array_equal(got_ids[:len(order)], order)
        np.testing.assert_array_equal(got_scores[:len(order)], row[order])
        assert (got_ids[len(order):] == -1).all()


def bf16_bits(scores):
    """float32 scores rounded to bf16 (to nearest, ties to even), as the int16 bit patterns a bf16
    product writes."""
    bits = scores.astype(np.float32).view(np.uint32)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16).view(np.int16)


def test_a_real_bf16_row_full_of_ties_equals_a_full_sort():
    """One real row (a Debian anchor's bf16 scores against 12,000 descriptions, all-MiniLM-L6-v2's
    static distillation) whose ties at the raised bar leave the buffer nearly full: merged at k=143
    from a count that is not the buffer's size, where a slice assignment once tripped Numba's parallel
    array analysis (a false size check, at run time)."""
    from pathlib import Path

    bits = np.load(Path(__file__).parent / "data" / "tied_bf16_row.npz")["bits"][None, :]
    values = (bits.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
    for block in (bits, values):
        top_scores, top_ids = empty_topk(1, 143)
        merge_block(block, 0, top_scores, top_ids)
        expected_scores, expected_ids = reference(values, 143)
        np.testing.assert_array_equal(top_ids, expected_ids)
        np.testing.assert_array_equal(top_scores, expected_scores)


@pytest.mark.parametrize("k", [1, 30, 143])
def test_bf16_bits_merge_as_the_scores_they_stand_for(k):
    """A bf16 product's block (int16 bit patterns) merges as its exact float32 values would, ties
    and all: bf16 has 8 mantissa bits, so a wide row is mostly ties."""
    rng = np.random.default_rng(k)
    bits = bf16_bits(np.concatenate([rng.normal(size=(200, 5000)), -rng.random((20, 5000))]))
    values = (bits.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
    top_scores, top_ids = empty_topk(len(bits), k)
    for start in range(0, 5000, 2048):
        merge_block(np.ascontiguousarray(bits[:, start:start + 2048]), start, top_scores, top_ids)
    expected_scores, expected_ids = reference(values, k)
    np.testing.assert_array_equal(top_ids, expected_ids)
    np.testing.assert_array_equal(top_scores, expected_scores)


def test_fewer_candidates_than_k_leave_empty_slots():
    top_scores, top_ids = empty_topk(2, 5)
    merge_block(np.array([[0.5, 0.9], [0.1, -0.2]], dtype=np.float32), 0, top_scores, top_ids)
    assert top_ids.tolist() == [[1, 0, -1, -1, -1], [0, 1, -1, -1, -1]]
    assert np.isneginf(top_scores[:, 2:]).all()


def test_merging_scattered_rows_and_columns_equals_a_full_sort():
    from cltool.kernels.topk import merge_rows

    rng = np.random.default_rng(5)
    scores = rng.normal(size=(30, 200)).astype(np.float32)
    top_scores, top_ids = empty_topk(30, 8)
    # blocks of (some queries) x (some candidates), every (query, candidate) pair exactly once
    for columns in np.array_split(rng.permutation(200), 7):
        for rows in np.array_split(rng.permutation(30), 3):
            merge_rows(np.ascontiguousarray(scores[np.ix_(rows, columns)]), columns.astype(np.int64),
                       rows.astype(np.int64), top_scores, top_ids)
    expected_scores, expected_ids = reference(scores, 8)
    np.testing.assert_array_equal(top_ids, expected_ids)
    np.testing.assert_array_equal(top_scores, expected_scores)


def test_inverted_lists_hold_each_query_under_each_list_it_probes():
    from cltool.kernels.topk import invert_lists

    probes = np.random.default_rng(2).integers(0, 6, size=(50, 3)).astype(np.int32)
    starts, queries = invert_lists(probes, 7)
    for cell in range(7):
        assert queries[starts[cell]:starts[cell + 1]].tolist() == [q for q in range(50) for p in probes[q] if p == cell]


def test_gathered_rows_equal_fancy_indexing_and_reuse_the_buffer():
    from cltool.kernels.topk import gather_rows

    rng = np.random.default_rng(3)
    matrix = rng.standard_normal((50, 7)).astype(np.float32)
    buffer = np.empty(40 * 7, dtype=np.float32)
    for rows in (np.array([49, 0, 3, 3], dtype=np.int32), rng.integers(0, 50, 40), np.array([], dtype=np.int64)):
        out = gather_rows(matrix, rows, buffer)
        assert out.shape == (len(rows), 7)
        np.testing.assert_array_equal(out, matrix[rows])
        assert out.size == 0 or np.shares_memory(out, buffer)


def test_rescored_rows_hold_exact_dot_products_best_first():
    from cltool.kernels.topk import rescore_topk

    rng = np.random.default_rng(5)
    queries = rng.standard_normal((20, 16)).astype(np.float32)
    candidates = rng.standard_normal((50, 16)).astype(np.float32)
    ids = np.stack([rng.permutation(50)[:8] for _ in range(20)]).astype(np.int32)
    ids[3, 5:] = -1  # a short row keeps its empty tail
    scores = np.zeros(ids.shape, dtype=np.float32)
    rescore_topk(queries, candidates, scores, ids)
    for q in range(20):
        valid = ids[q] >= 0
        expected = queries[q].astype(np.float64) @ candidates[ids[q][valid]].T.astype(np.float64)
        np.testing.assert_allclose(scores[q][valid], expected, rtol=1e-6)
        assert np.all(np.diff(scores[q][valid]) <= 0)
    assert list(ids[3, 5:]) == [-1, -1, -1]

"""The MinHash kernels against datasketch and against plain Python references."""

import random

import numpy as np
import pyarrow as pa
import pytest
from datasketch import MinHash

from cltool.dedup.near import utf8_buffers
from cltool.kernels.minhash import CHAR, WORD, jaccard_pairs, permutations, shingle_sets, signatures
from cltool.kernels.select import keep_first, pairs_above

WORDS = [f"w{i}" for i in range(300)]


def texts(n, seed=0, length=(1, 60)):
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=rng.randint(*length))) for _ in range(n)]


def sets_of(docs, ngram=5, mode=WORD):
    data, offsets = utf8_buffers(pa.array(docs))
    values, set_offsets = shingle_sets(data, offsets, ngram, mode)
    return values, set_offsets, [set(values[set_offsets[i]:set_offsets[i + 1]].tolist()) for i in range(len(docs))]


def test_signatures_equal_datasketch_minhash_bit_for_bit():
    docs = texts(40)
    values, offsets, _ = sets_of(docs)
    a, b = permutations(128, seed=7)
    ours = signatures(values, offsets, a, b)
    for i in range(len(docs)):
        reference = MinHash(num_perm=128, seed=7, hashfunc=lambda x: x)  # the shingle hash is given
        reference.update_batch(values[offsets[i]:offsets[i + 1]].tolist())
        assert reference.scheme == "affine32"
        np.testing.assert_array_equal(ours[i], reference.hashvalues)


def test_shingles_are_the_distinct_word_ngrams():
    docs = ["a b c d e f", "a b c d e f a b c d e", "x y", "", "  spaced   out   words here now  "]
    _, _, sets = sets_of(docs)
    expected = []
    for doc in docs:
        words = doc.split()
        grams = {tuple(words[i:i + 5]) for i in range(max(len(words) - 4, 1))} if words else set()
        expected.append(len(grams))
    assert [len(s) for s in sets] == expected
    assert sets[0] <= sets[1]  # the same 5-grams hash the same
    _, _, chars = sets_of(["héllo wörld", "héllo wörld"], ngram=3, mode=CHAR)
    assert chars[0] == chars[1] and len(chars[0]) == len({"héllo wörld"[i:i + 3] for i in range(9)})


def test_jaccard_of_shingle_sets_equals_python_sets():
    docs = texts(60, seed=3)
    values, offsets, sets = sets_of(docs)
    rng = np.random.default_rng(0)
    left, right = rng.integers(0, 60, 300), rng.integers(0, 60, 300)
    ours = jaccard_pairs(values, offsets, left, right)
    for p in range(300):
        x, y = sets[left[p]], sets[right[p]]
        expected = len(x & y) / len(x | y) if x | y else 0.0
        assert ours[p] == pytest.approx(expected, abs=1e-6)


def reference_keep_first(n, pairs, threshold):
    kept, dup = [True] * n, [-1] * n
    for row in range(n):
        best = None
        for (i, j), s in pairs.items():
            if j == row and kept[i] and s >= threshold and (best is None or (s, -i) > (best[0], -best[1])):
                best = (s, i)
        if best:
            kept[row], dup[row] = False, best[1]
    return kept, dup


@pytest.mark.parametrize("seed", range(5))
def test_keep_first_against_a_reference(seed):
    rng = np.random.default_rng(seed)
    n = 40
    pairs = {}
    for _ in range(120):
        i, j = sorted(rng.choice(n, 2, replace=False))
        pairs[(int(i), int(j))] = float(np.float32(rng.random()))
    left = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    kept, dup, _ = keep_first(n, left[0], left[1], np.array(list(pairs.values()), dtype=np.float32), np.float32(0.5))
    ref_kept, ref_dup = reference_keep_first(n, pairs, 0.5)
    assert kept.tolist() == ref_kept and dup.tolist() == ref_dup


@pytest.mark.parametrize("seed", range(5))
def test_dense_pairs_decide_on_exact_cosines_whatever_the_rounding(seed):
    """Pairs from dense blocks, then the first-come rule: given float32 similarities rounded as some
    other BLAS (or thread count) would round them, decides exactly as the reference does on exact
    cosines: even for a pair whose exact cosine is the threshold itself, and for two kept rows almost
    equally similar."""
    from cltool.dedup.semantic import float_tolerance, keep_by_rank

    rng = np.random.default_rng(seed)
    n, dim = 40, 16
    centres = rng.normal(size=(8, dim))
    vectors = centres[rng.integers(0, 8, n)] + rng.normal(scale=0.15, size=(n, dim))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    rows = vectors.astype(np.float64).tolist()
    exact = np.array([[sum(x * y for x, y in zip(a, b)) for b in rows] for a in rows])  # summed in order
    pairs = {(i, j): exact[j, i] for j in range(n) for i in range(j)}
    threshold = float(np.quantile(list(pairs.values()), 0.8))
    while True:  # raised until some row is removed by a pair whose exact cosine is the threshold itself
        ref_kept, ref_dup = reference_keep_first(n, pairs, threshold)
        edge = min(pairs[(ref_dup[j], j)] for j in range(n) if not ref_kept[j])
        if edge == threshold:
            break
        threshold = edge
    tolerance = float_tolerance(dim)
    assert 0 < ref_kept.count(False) < n
    for noise in (-1, 1, None):  # every similarity rounded down, up, or either way
        step = rng.uniform(-1, 1, size=(n, n)) if noise is None else np.full((n, n), float(noise))
        dense = (exact + step * tolerance / 2).astype(np.float32)
        rows, home = np.arange(n), np.zeros(n, dtype=np.bool_)
        found = [pairs_above(dense[a:b], rows[a:b], home[a:b], rows, rows, vectors, threshold, tolerance, n)
                 for a, b in ((0, 17), (17, n))]
        left, right, cosine = (np.concatenate([f[i] for f in found]) for i in range(3))
        removed, duplicate_of, _ = keep_by_rank(n, rows, left, right, cosine)
        assert sorted(removed.tolist()) == [j for j in range(n) if not ref_kept[j]]
        expected = {j: ref_dup[j] for j in range(n) if not ref_kept[j]}
        assert dict(zip(removed.tolist(), duplicate_of.tolist())) == expected


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.8, 0.9])
@pytest.mark.parametrize("num_perm", [64, 128])
@pytest.mark.parametrize("weights", [(0.5, 0.5), (0.02, 0.98)])
def test_lsh_parameters_match_datasketch_optimiser(threshold, num_perm, weights):
    from datasketch.lsh import _optimal_param

    from cltool.dedup.near import optimal_bands_rows

    assert optimal_bands_rows(threshold, num_perm, *weights) == tuple(_optimal_param(threshold, num_perm, *weights))

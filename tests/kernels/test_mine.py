"""The negative-selection kernels (the rules, then a sampler) against slow, plain references on random inputs."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cltool.kernels.mine import RULES, positive_similarity
from cltool.mine import SAMPLERS, Rules, Settings
from cltool.mine.samplers import Pool
from cltool.mine.select import Positives, eligible

MASK = (1 << 64) - 1
NAN = float("nan")
SAMPLING = ("top", "random", "simans")  # the reference's sampling numbers


def splitmix_uniforms(seed: int, n: int) -> list[float]:
    state, out = seed, []
    for _ in range(n):
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        z ^= z >> 31
        out.append(((z >> 11) + 0.5) / 2.0**53)
    return out


def reference(case, range_min, range_max, max_score, absolute_margin, relative_margin, min_score, near_duplicate,
              n, sampling, simans_a, simans_b):
    ids, scores, near, keys, offsets, pos_ids, pos_keys, anchor_keys, lowest, seeds = case
    chosen, counts, removed = [], [], np.zeros((len(ids), len(RULES)), dtype=int)
    for a in range(len(ids)):
        positives = set(pos_ids[offsets[a]:offsets[a + 1]].tolist())
        positive_keys = set(pos_keys[offsets[a]:offsets[a + 1]].tolist())
        pos = lowest[a]
        eligible = []
        for r in range(range_min, min(int(np.broadcast_to(range_max, len(ids))[a]), ids.shape[1])):
            c, s = ids[a, r], scores[a, r]
            if c < 0:
                break
            checks = [c in positives, keys[c] in positive_keys, keys[c] == anchor_keys[a],
                      near[a, r] >= near_duplicate,
                      any(keys[ids[a, e]] == keys[c] and scores[a, e] - s <= 1e-3 for e in eligible),
                      s > max_score, s > pos - absolute_margin, s > pos - abs(pos) * relative_margin, s < min_score]
            hit = next((i for i, c in enumerate(checks) if c), None)
            if hit is None:
                eligible.append(r)
            else:
                removed[a, hit] += 1
        counts.append(len(eligible))
        if sampling == 0 or len(eligible) <= n:
            picked = eligible[:n]
        else:
            u = splitmix_uniforms(int(seeds[a]), len(eligible))
            weights = [0.0 if sampling == 1 else -simans_a * (scores[a, r] - pos - simans_b) ** 2 for r in eligible]
            sample_keys = [w - math.log(-math.log(x)) for w, x in zip(weights, u)]
            order = sorted(range(len(eligible)), key=lambda i: -sample_keys[i])[:n]
            picked = sorted(eligible[i] for i in order)
        chosen.append(picked + [-1] * (n - len(picked)))
    return np.array(chosen), np.array(counts), removed


def random_case(rng, anchors=12, k=20, candidates=40, dup_texts=True):
    ids = np.full((anchors, k), -1, dtype=np.int64)
    scores = np.full((anchors, k), -np.inf, dtype=np.float32)
    for a in range(anchors):
        found = rng.integers(k // 2, k + 1)
        ids[a, :found] = rng.choice(candidates, size=found, replace=False)
        scores[a, :found] = np.sort(rng.uniform(-1, 1, size=found))[::-1]
    near = rng.uniform(0, 1, size=(anchors, k)).astype(np.float32)
    keys = rng.integers(0, candidates // 2 if dup_texts else 1 << 60, size=candidates).astype(np.uint64)
    per_anchor = rng.integers(1, 4, size=anchors)
    offsets = np.concatenate([[0], np.cumsum(per_anchor)]).astype(np.int64)
    pos_ids = rng.integers(-1, candidates, size=offsets[-1]).astype(np.int64)
    pos_keys = np.where(pos_ids >= 0, keys[np.maximum(pos_ids, 0)], rng.integers(0, 1 << 60, size=offsets[-1]))
    pos_keys = pos_keys.astype(np.uint64)
    anchor_keys = rng.integers(0, candidates // 2, size=anchors).astype(np.uint64)
    lowest = rng.uniform(-1, 1, size=anchors).astype(np.float32)
    seeds = rng.integers(0, 1 << 63, size=anchors).astype(np.uint64)
    return ids, scores, near, keys, offsets, pos_ids, pos_keys, anchor_keys, lowest, seeds


def run(case, range_min=0, range_max=10**6, max_score=NAN, absolute_margin=NAN, relative_margin=NAN, min_score=NAN,
        near_duplicate=NAN, n=3, sampling=0, simans_a=1.0, simans_b=0.0):
    args = (range_min, range_max, max_score, absolute_margin, relative_margin, min_score, near_duplicate, n,
            sampling, simans_a, simans_b)
    per_anchor = np.broadcast_to(np.asarray(range_max, dtype=np.int64), (len(case[0]),)).copy()
    ids, scores, near, keys, offsets, pos_ids, pos_keys, anchor_keys, lowest, seeds = case
    rules = Rules(max_score=max_score, min_score=min_score, absolute_margin=absolute_margin,
                  relative_margin=relative_margin, near_duplicate=near_duplicate)
    pool = eligible(ids, scores, near=near, candidate_keys=keys, positives=Positives(offsets, pos_ids, pos_keys),
                    anchor_keys=anchor_keys, lowest=lowest, rules=rules, range_min=range_min, range_maxes=per_anchor)
    settings = Settings(sampling=SAMPLING[sampling], sampling_options={"simans_a": simans_a, "simans_b": simans_b}
                        if SAMPLING[sampling] == "simans" else {})
    chosen = SAMPLERS[settings.sampling].pick(Pool(pool.ranks, pool.counts, scores, lowest, seeds), n,
                                              settings.sampler_options())
    return (chosen, pool.counts, pool.removed), reference(case, *args)


rule_values = st.one_of(st.just(NAN), st.floats(-1, 1))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), range_min=st.integers(0, 6), width=st.integers(1, 25),
       max_score=rule_values, absolute_margin=st.one_of(st.just(NAN), st.floats(0, 0.5)),
       relative_margin=st.one_of(st.just(NAN), st.floats(0, 0.5)), min_score=rule_values,
       near_duplicate=st.one_of(st.just(NAN), st.floats(0.5, 1)), n=st.integers(1, 6), sampling=st.integers(0, 2))
def test_select_negatives_equals_the_reference(seed, range_min, width, max_score, absolute_margin, relative_margin,
                                               min_score, near_duplicate, n, sampling):
    rng = np.random.default_rng(seed)
    case = random_case(rng)
    depth = range_min + width + rng.integers(0, 6, size=len(case[0]))  # anchors with more positives look deeper
    (chosen, counts, removed), (want_chosen, want_counts, want_removed) = run(
        case, range_min, depth, max_score, absolute_margin, relative_margin, min_score, near_duplicate,
        n, sampling, simans_a=20.0, simans_b=0.1)
    np.testing.assert_array_equal(counts, want_counts)
    np.testing.assert_array_equal(removed, want_removed)
    np.testing.assert_array_equal(chosen, want_chosen)


def test_the_relative_margin_is_sign_safe():
    # One anchor whose positive scores -0.5: a negative must score below -0.5 - 0.5 * 0.1 = -0.55.
    # (1 - m) * pos would put the bar at -0.45 and let -0.5 through, above the positive itself.
    ids = np.array([[0, 1, 2, 3]])
    scores = np.array([[-0.45, -0.5, -0.54, -0.6]], dtype=np.float32)
    case = (ids, scores, np.full((1, 4), np.nan, np.float32), np.arange(10, 14, dtype=np.uint64),
            np.array([0, 1]), np.array([9]), np.array([99], np.uint64), np.array([98], np.uint64),
            np.array([-0.5], np.float32), np.zeros(1, np.uint64))
    (chosen, counts, removed), _ = run(case, relative_margin=0.1, n=4)
    assert chosen[0].tolist() == [3, -1, -1, -1]
    assert removed[0, RULES.index("relative_margin")] == 3


def test_positives_by_id_and_by_text_and_the_anchor_never_come_back():
    ids = np.array([[5, 6, 7, 8, 9]])
    scores = np.array([[0.9, 0.8, 0.7, 0.6, 0.5]], dtype=np.float32)
    keys = np.arange(10, dtype=np.uint64)
    keys[6] = 42  # candidate 6 has the text of a positive held under another id
    case = (ids, scores, np.full((1, 5), np.nan, np.float32), keys, np.array([0, 2]), np.array([5, -1]),
            np.array([5, 42], np.uint64), np.array([7], np.uint64),
            np.array([0.9], np.float32), np.zeros(1, np.uint64))
    (chosen, _, removed), _ = run(case, n=5)
    assert ids[0, chosen[0][chosen[0] >= 0]].tolist() == [8, 9]
    assert removed[0, :3].tolist() == [1, 1, 1]


def test_simans_draws_in_proportion_to_its_weights():
    k, draws = 6, 4000
    scores = np.linspace(0.8, 0.3, k).astype(np.float32)
    case = (np.tile(np.arange(k), (draws, 1)), np.tile(scores, (draws, 1)), np.full((draws, k), np.nan, np.float32),
            np.arange(k, dtype=np.uint64), np.zeros(draws + 1, np.int64), np.zeros(0, np.int64),
            np.zeros(0, np.uint64), np.full(draws, 99, np.uint64), np.full(draws, 0.9, np.float32),
            np.arange(draws, dtype=np.uint64) * np.uint64(7919))
    (chosen, _, _), _ = run(case, n=1, sampling=2, simans_a=10.0, simans_b=-0.3)
    weights = np.exp(-10.0 * (scores - 0.9 + 0.3) ** 2)
    frequency = np.bincount(chosen[:, 0], minlength=k) / draws
    np.testing.assert_allclose(frequency, weights / weights.sum(), atol=0.03)


def test_random_sampling_is_seeded_and_without_replacement():
    case = random_case(np.random.default_rng(3), anchors=50, k=30, dup_texts=False)
    (first, _, _), _ = run(case, n=5, sampling=1)
    (second, _, _), _ = run(case, n=5, sampling=1)
    np.testing.assert_array_equal(first, second)
    for row in first:
        taken = row[row >= 0]
        assert len(set(taken.tolist())) == len(taken) and (np.diff(taken) > 0).all()


def test_positive_similarity_equals_numpy():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(30, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = rng.integers(0, 30, size=(5, 7))
    ids[4, 3:] = -1
    offsets = np.array([0, 1, 3, 3, 4, 6])
    rows = np.array([2, 5, 9, 11, -1, 20])
    got = positive_similarity(ids, offsets, rows, vectors, 1, 6)
    for a in range(5):
        for r in range(7):
            usable = [p for p in rows[offsets[a]:offsets[a + 1]] if p >= 0]
            if not 1 <= r < 6 or ids[a, r] < 0 or not usable:
                assert np.isnan(got[a, r])
            else:
                assert got[a, r] == pytest.approx(max(vectors[ids[a, r]] @ vectors[p] for p in usable), abs=1e-5)

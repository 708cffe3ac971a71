"""The search's result depends only on the queries and the candidates: not on how the queries were
partitioned (the Ray engine's tasks, the local engine's blocks), which changes how a float32 BLAS
product rounds each score. The approximate indexes (IVF, HNSW) find what exact search finds."""

import numpy as np
import pytest

from cltool.mine import Settings, mine
from cltool.mine.search import RESCORE_SLACK, IvfIndex, exact_search, exact_search_top, exact_top
from tests.conftest import read_dataset


def unit(x):
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def reference_top(queries, candidates, k):
    """Exact float64 scores, best first, ties to the smaller id."""
    scores = np.array([[sum(float(a) * float(b) for a, b in zip(q, c)) for c in candidates] for q in queries])
    ids = np.array([sorted(range(len(candidates)), key=lambda c: (-row[c], c))[:k] for row in scores])
    return np.take_along_axis(scores, ids, axis=1).astype(np.float32), ids


@pytest.fixture
def vectors():
    rng = np.random.default_rng(4)
    candidates = unit(rng.normal(size=(300, 24)))
    candidates[150:160] = candidates[40]  # ten copies of one candidate: ties at any cut
    queries = unit(candidates[rng.integers(0, 300, 90)] + rng.normal(scale=0.3, size=(90, 24)))
    queries[:5] = candidates[40]  # queries whose top-11 are all the same score
    return queries, candidates


@pytest.mark.parametrize("parts", [1, 2, 7, 90])
def test_exact_search_then_exact_top_is_the_exact_ranking_in_any_partition(vectors, parts):
    queries, candidates = vectors
    k = 12
    want_scores, want_ids = reference_top(queries, candidates, k)
    got_scores, got_ids = [], []
    for rows in np.array_split(np.arange(len(queries)), parts):
        searched = exact_search(queries[rows], candidates, k + RESCORE_SLACK)
        scores, ids = exact_top(queries[rows], candidates, *searched, k)
        got_scores.append(scores)
        got_ids.append(ids)
    np.testing.assert_array_equal(np.concatenate(got_ids), want_ids)
    np.testing.assert_array_equal(np.concatenate(got_scores), want_scores)


def test_ivf_probes_and_results_do_not_depend_on_the_partition(vectors):
    queries, candidates = vectors
    index = IvfIndex.build(candidates, nlist=10, seed=1)
    reach = index.reach(3)
    whole = exact_top(queries, candidates, *index.search(queries, 12 + RESCORE_SLACK, nprobe=3), 12, reach)
    for parts in (3, 90):
        split = [exact_top(queries[r], candidates, *index.search(queries[r], 12 + RESCORE_SLACK, nprobe=3), 12, reach)
                 for r in np.array_split(np.arange(len(queries)), parts)]
        np.testing.assert_array_equal(np.concatenate([s[1] for s in split]), whole[1])
        np.testing.assert_array_equal(np.concatenate([s[0] for s in split]), whole[0])


def test_every_score_block_has_one_layout_whatever_the_sizes(monkeypatch):
    """A partial last block (candidates not a multiple of the block) is still C-contiguous: another
    layout is another signature, which Numba compiles on the first real-size run after warmup."""
    import cltool.kernels.topk as topk
    from cltool.mine import search

    monkeypatch.setattr(search, "_CANDIDATE_BLOCK", 64)
    monkeypatch.setattr(search, "_QUERY_BLOCK", 16)
    layouts = []
    merge = topk.merge_block
    monkeypatch.setattr(topk, "merge_block", lambda block, *rest: (layouts.append(block.flags.c_contiguous),
                                                                   merge(block, *rest)))
    rng = np.random.default_rng(7)
    queries, candidates = unit(rng.normal(size=(40, 8))), unit(rng.normal(size=(150, 8)))  # 64 + 64 + 22; 16 + 16 + 8
    scores, ids = exact_search(queries, candidates, 5)
    assert len(layouts) == 9 and all(layouts)
    want = np.argsort(-(queries.astype(np.float64) @ candidates.T.astype(np.float64)), axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(ids, want)


def test_a_deeper_exact_search_begins_with_the_shallower_one(vectors):
    """Deepening searches once, as deep as an anchor may grow, and cuts each round's window from it:
    that is what searching each round anew finds only if the deeper ranking begins with the shallower
    one, ties (the ten copies) included."""
    queries, candidates = vectors
    deep_scores, deep_ids = exact_search_top(queries, candidates, 200)
    for depth in (1, 11, 12, 50):
        scores, ids = exact_search_top(queries, candidates, depth)
        np.testing.assert_array_equal(deep_ids[:, :depth], ids)
        np.testing.assert_array_equal(deep_scores[:, :depth], scores)


def many_copies():
    """Thirty copies of one candidate, more than the search's slack: a query's cut falls among them."""
    rng = np.random.default_rng(9)
    candidates = unit(rng.normal(size=(400, 32)))
    candidates[200:230] = candidates[7]
    queries = unit(candidates[rng.integers(0, 400, 60)] + rng.normal(scale=0.4, size=(60, 32)))
    queries[:6] = unit(candidates[7] + rng.normal(scale=0.05, size=(6, 32)))
    return queries, candidates


@pytest.mark.parametrize("parts", [1, 3, 60])
def test_copies_outnumbering_the_slack_at_the_cut_keep_the_exact_ranking(parts):
    queries, candidates = many_copies()
    k = 12
    want_scores, want_ids = reference_top(queries, candidates, k)
    assert (want_ids[:6] >= 200).sum() >= 6 * (k - 2)  # the copies fill those queries' top k
    got = [exact_top(queries[rows], candidates, *exact_search(queries[rows], candidates, k + RESCORE_SLACK), k)
           for rows in np.array_split(np.arange(len(queries)), parts)]
    np.testing.assert_array_equal(np.concatenate([g[1] for g in got]), want_ids)
    np.testing.assert_array_equal(np.concatenate([g[0] for g in got]), want_scores)


def test_an_ivf_query_searched_again_stays_within_the_lists_it_probes():
    queries, candidates = many_copies()
    index = IvfIndex.build(candidates, nlist=8, seed=1)
    reach = index.reach(2)
    scores, ids = exact_top(queries, candidates, *index.search(queries, 12 + RESCORE_SLACK, nprobe=2), 12, reach)
    for q, members in enumerate(reach(queries)):
        members = np.sort(members)
        want_scores, want_ids = reference_top(queries[q:q + 1], candidates[members], 12)
        np.testing.assert_array_equal(ids[q], members[want_ids[0]])
        np.testing.assert_array_equal(scores[q], want_scores[0])


@pytest.mark.parametrize("index", ["ivf", "hnsw"])
def test_approximate_indexes_find_what_exact_search_finds(tmp_path, index, write, random_pairs):
    pairs, docs = random_pairs(3, anchors=200, corpus=800)
    source, corpus = write(tmp_path / "pairs", pairs), write(tmp_path / "docs", docs)
    exact = mine(source, str(tmp_path / "exact"), Settings(index="flat", sampling="top"), corpus=[corpus])
    approx = mine(source, str(tmp_path / index), Settings(index=index, nlist=8, nprobe=5, sampling="top"),
                  corpus=[corpus])
    assert approx["summary"]["search"]["index"] == index
    a = [set(r["negative_ids"]) for r in read_dataset(tmp_path / "exact").to_pylist()]
    b = [set(r["negative_ids"]) for r in read_dataset(tmp_path / index).to_pylist()]
    agreement = sum(len(x & y) for x, y in zip(a, b)) / sum(len(x) for x in a)
    assert agreement > 0.9
    assert exact["summary"]["anchors"] == approx["summary"]["anchors"]

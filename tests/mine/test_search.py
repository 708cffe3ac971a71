"""The search's result depends only on the queries and the candidates: not on how the queries were
partitioned (the Ray engine's tasks, the local engine's blocks), which changes how a float32 BLAS
product rounds each score. The approximate indexes (IVF, HNSW) find what exact search finds."""

import numpy as np
import pytest

from cltool.mine import Settings, mine
from cltool.errors import UsageError
from cltool.mine.search import (RESCORE_SLACK, IvfIndex, choose_product, exact_search, exact_search_top, exact_top,
                                product_error, searched_depth)
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


@pytest.mark.parametrize("shallow", [False, True])
@pytest.mark.parametrize("data", ["random", "copies"])
def test_a_bf16_shortlist_rescored_is_the_exact_ranking(vectors, data, shallow):
    """bf16 scores only choose a shortlist: once rescored, and every query whose shortlist could
    have missed one of its exact top k searched again in float32, the ranking is the exact one, ties
    (copies) included. A shortlist one deeper than k puts most queries at risk: still exact."""
    queries, candidates = vectors if data == "random" else many_copies()
    k = 12
    depth = k + 1 if shallow else searched_depth(k, len(candidates), "bfloat16")
    searched = exact_search(queries, candidates, depth, product="bfloat16")
    scores, ids = exact_top(queries, candidates, *searched, k, error=product_error("bfloat16", queries, candidates))
    want_scores, want_ids = reference_top(queries, candidates, k)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_array_equal(scores, want_scores)


def test_the_bf16_error_bound_holds_and_scales_with_the_norms():
    import torch

    rng = np.random.default_rng(2)
    queries, candidates = rng.normal(size=(50, 384)).astype(np.float32), rng.normal(size=(400, 384)).astype(np.float32)
    bf16 = (torch.from_numpy(queries).bfloat16() @ torch.from_numpy(candidates).bfloat16().T).float().numpy()
    error = product_error("bfloat16", queries, candidates)
    assert (np.abs(bf16 - queries.astype(np.float64) @ candidates.T.astype(np.float64)) <= error[:, None]).all()
    assert product_error("float32", queries, candidates) == 0.0
    np.testing.assert_allclose(product_error("bfloat16", 2 * queries, candidates), 2 * error)


def test_the_product_is_float32_unless_bf16_pays_or_is_asked_for(monkeypatch):
    monkeypatch.delenv("CLTOOL_SEARCH_PRODUCT", raising=False)
    monkeypatch.setattr("cltool.embed.backend.native_bf16", lambda: None)
    assert choose_product(10 ** 13, 60) == "float32"  # no native bf16: emulated bf16 is slower
    monkeypatch.setattr("cltool.embed.backend.native_bf16", lambda: "avx512_bf16")
    assert choose_product(10 ** 13, 60) == "bfloat16"
    assert choose_product(10_000, 60) == "float32"  # too small to repay importing torch
    assert choose_product(10 ** 13, 460) == "float32"  # too deep: the shortlist outgrows the saving
    monkeypatch.setenv("CLTOOL_SEARCH_PRODUCT", "bfloat16")
    assert choose_product(10, 460) == "bfloat16"
    monkeypatch.setenv("CLTOOL_SEARCH_PRODUCT", "float32")
    assert choose_product(10 ** 13, 60) == "float32"
    monkeypatch.setenv("CLTOOL_SEARCH_PRODUCT", "fp8")
    with pytest.raises(UsageError, match="CLTOOL_SEARCH_PRODUCT"):
        choose_product(10, 60)


def test_mine_writes_the_same_bytes_with_a_bf16_product(tmp_path, write, random_pairs, monkeypatch):
    """The product is only how the shortlist is found: the output is float32 search's, to the byte,
    and the summary says which product ran."""
    pairs, docs = random_pairs(5, anchors=200, corpus=800)
    source, corpus = write(tmp_path / "pairs", pairs), write(tmp_path / "docs", docs)
    outputs = {}
    for product in ("float32", "bfloat16"):
        monkeypatch.setenv("CLTOOL_SEARCH_PRODUCT", product)
        result = mine(source, str(tmp_path / product), Settings(index="flat", num_negatives=5), corpus=[corpus])
        assert result["summary"]["search"]["product"] == product
        outputs[product] = [p.read_bytes() for p in sorted((tmp_path / product).glob("*.parquet"))]
    assert outputs["float32"] and outputs["float32"] == outputs["bfloat16"]

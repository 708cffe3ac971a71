"""Semantic dedup (cltool/dedup/semantic.py, the method `--method semantic` in methods/semantic.py):
against comparing all pairs, across cluster borders, on an embedding column with its keep orders and
dry-run eps, and the memory its pair search holds."""

import os

import numpy as np
import pyarrow as pa
import pytest

from cltool.dedup import Settings, dedup
from cltool.dedup.semantic import semantic_duplicates
from tests.conftest import read_dataset, rejected_of, write_random_static_model


def brute_force_semantic(vectors, eps):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    sims = unit @ unit.T
    kept = []
    for i in range(len(unit)):
        if not any(sims[i, j] >= 1 - eps for j in kept):
            kept.append(i)
    return sorted(set(range(len(unit))) - set(kept))


@pytest.mark.parametrize("seed", range(3))
def test_semantic_equals_brute_force_all_pairs(seed):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(8, 16))
    vectors = np.repeat(centres, 25, axis=0) + rng.normal(scale=0.08, size=(200, 16))
    vectors = vectors.astype(np.float32)
    ours = semantic_duplicates(vectors, eps=0.02, clusters=1, keep="first", seed=0)
    assert sorted(ours.removed.tolist()) == brute_force_semantic(vectors, 0.02)
    assert (ours.cosine >= 0.98 - 1e-6).all()
    # more clusters can only miss pairs across clusters, never add one below the threshold
    clustered = semantic_duplicates(vectors, eps=0.02, clusters=8, keep="first", seed=0)
    assert set(clustered.removed.tolist()) <= set(brute_force_semantic(vectors, 0.02)) | set(clustered.removed.tolist())
    assert (clustered.cosine >= 0.98 - 1e-6).all()


@pytest.mark.parametrize("seed", range(3))
def test_semantic_finds_the_pairs_across_cluster_borders(seed):
    """Many small clusters put a row and its near copy in different clusters: SemDeDup's own cluster
    (probes 1) misses those pairs; the default probes find what comparing all pairs finds."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(300, 8)).astype(np.float32)
    vectors = np.concatenate([base, base[:150] + rng.normal(scale=0.25, size=(150, 8)).astype(np.float32)])
    exhaustive = brute_force_semantic(vectors, 0.1)
    own_cluster = semantic_duplicates(vectors, eps=0.1, clusters=60, keep="first", seed=0, probes=1)
    probed = semantic_duplicates(vectors, eps=0.1, clusters=60, keep="first", seed=0)
    assert len(own_cluster.removed) < len(exhaustive)
    assert sorted(probed.removed.tolist()) == exhaustive
    assert (probed.cosine >= 0.9 - 1e-6).all()


def test_semantic_on_an_embedding_column_and_keep_orders(tmp_path, write):
    rng = np.random.default_rng(0)
    base = rng.normal(size=(30, 8)).astype(np.float32)
    vectors = np.concatenate([base, base + rng.normal(scale=0.001, size=base.shape).astype(np.float32)])
    texts = [f"text {i}" for i in range(60)]
    src = write(tmp_path / "in", {"positive": texts, "positive_embedding": pa.FixedSizeListArray.from_arrays(
        pa.array(vectors.reshape(-1)), 8)})
    manifest = dedup(str(src), str(tmp_path / "out"),
                     Settings(methods=("semantic",), method_options={"keep": "first", "clusters": 4}))
    assert manifest["rows"]["rejected"] == 30
    rejected = read_dataset(rejected_of(tmp_path / "out")).to_pylist()
    assert all(int(r["positive"].split()[1]) >= 30 for r in rejected)
    report = dedup(str(src), None,
                   Settings(methods=("semantic",), dry_run=True, method_options={"eps": (0.0001, 0.05)}))
    assert report["summary"]["semantic"]["removed_fraction_by_eps"]["0.05"] == 0.5
    assert not (tmp_path / "none").exists()


def _resident(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith(field))


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="needs Linux's /proc")
def test_semantic_pair_search_holds_only_the_pairs_it_found():
    """Each block's pairs came back as views of a worst-case buffer (24 bytes x 2 x 16 per query),
    all kept alive until the end: 0.6 GB on 135k real rows. Here 40k random rows, 6 probes, find
    almost no pairs, and the search must not grow memory by the ~180 MB those buffers took."""
    from cltool.dedup.semantic import cluster, cluster_work, pairs_in_clusters, ranking

    rng = np.random.default_rng(0)
    x = rng.standard_normal((40_000, 16)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    clustering = cluster(x, 200, 0, 6)
    ranks = ranking(len(x), clustering.to_centroid, None, "first")
    work = cluster_work(clustering)
    pairs_in_clusters(x, work, clustering.labels, ranks, 0.1)  # compiled and warm
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # the high-water mark starts again from the memory in use now
    before = _resident("VmRSS:")
    left, _, _ = pairs_in_clusters(x, work, clustering.labels, ranks, 0.1)
    assert _resident("VmHWM:") - before < 64 * 2**20
    assert len(left) < 1000


@pytest.fixture(scope="module")
def static_model(tmp_path_factory):
    return write_random_static_model(tmp_path_factory.mktemp("static-model"), 32)


def test_semantic_with_a_model_embeds_here_as_embed_would(tmp_path, write, planted_corpus, static_model, monkeypatch):
    """`--model`: the deciding texts embedded in the dedup process itself decide exactly as the
    embedding column `cltool embed` writes with that model; the output has no embedding column (the
    rows are the input's), and a static model goes without the embedding cache."""
    from cltool.embed import Settings as EmbedSettings
    from cltool.embed import embed

    monkeypatch.setenv("CLTOOL_CACHE_DIR", str(tmp_path / "cache"))
    texts, _ = planted_corpus(originals=60)
    texts = texts + [None, "  ", texts[3].upper()]  # a null and a blank go as blank; case is the model's
    src = write(tmp_path / "in", {"anchor": [f"q{i}" for i in range(len(texts))], "positive": texts})
    options = {"eps": (0.02,), "keep": "first", "clusters": 5}
    here = dedup(str(src), str(tmp_path / "here"), Settings(
        methods=("semantic",), method_options={**options, "model": str(static_model)}))
    embed(str(src), str(tmp_path / "embedded"), EmbedSettings(model=str(static_model), columns=("positive",)))
    chained = dedup(str(tmp_path / "embedded"), str(tmp_path / "chained"), Settings(
        methods=("semantic",), method_options=options))
    assert here["rows"]["rejected"] > 60 and here["summary"]["removed"]["semantic_duplicate"] > 60
    # embed rejects the blank rows itself; here they go as empty_text, every other row decided alike
    assert chained["rows"]["input"] + 2 == here["rows"]["input"] and here["summary"]["removed"]["empty_text"] == 2
    # the same rows removed, each for the same row; the cosines to the last bit or so (the encoder
    # normalises a batch at a time, and embed's batches are sorted by length)
    columns = ["positive", "duplicate_of", "similarity"]
    ours = read_dataset(rejected_of(tmp_path / "here")).select(columns).to_pylist()
    ours = [r for r in ours if r["positive"] and r["positive"].strip()]
    theirs = read_dataset(rejected_of(tmp_path / "chained")).select(columns).to_pylist()
    assert [(r["positive"], r["duplicate_of"]) for r in ours] == [(r["positive"], r["duplicate_of"]) for r in theirs]
    np.testing.assert_allclose([r["similarity"] for r in ours], [r["similarity"] for r in theirs], atol=1e-6)
    assert "positive_embedding" not in read_dataset(tmp_path / "here").column_names
    assert here["summary"]["embedded"]["model_kind"] == "static" and here["params"]["model"] == str(static_model)
    assert not (tmp_path / "cache" / "embeddings.sqlite").exists()


def test_semantic_with_a_sentence_transformers_model_goes_through_the_cache(tmp_path, write, monkeypatch):
    from cltool.embed.model import bundled_model_path

    monkeypatch.setenv("CLTOOL_CACHE_DIR", str(tmp_path / "cache"))
    texts = ["sort a list in python", "sort a python list", "open a file for reading", "open a file to read"] * 3
    src = write(tmp_path / "in", {"positive": texts})
    settings = Settings(methods=("semantic",), method_options={"eps": (0.1,), "model": str(bundled_model_path())})
    first = dedup(str(src), str(tmp_path / "first"), settings)
    again = dedup(str(src), str(tmp_path / "again"), settings)
    assert first["summary"]["embedded"]["encoded"] == 4 and again["summary"]["embedded"]["cache_hits"] == 4
    assert again["summary"]["embedded"]["encoded"] == 0 and first["rows"]["rejected"] >= 8
    assert read_dataset(tmp_path / "first").to_pylist() == read_dataset(tmp_path / "again").to_pylist()


def test_semantic_with_a_model_against_an_empty_or_blank_reference(tmp_path, write, static_model, monkeypatch):
    """An empty reference has no vectors (of the model's width); a blank reference text matches nothing."""
    monkeypatch.setenv("CLTOOL_CACHE_DIR", str(tmp_path / "cache"))
    src = write(tmp_path / "in", {"positive": ["sort a list", "open a file", "."]})
    settings = Settings(methods=("semantic",), method_options={"eps": (0.5,), "model": str(static_model)})
    empty = write(tmp_path / "empty", {"positive": pa.array([], pa.string())})
    assert dedup(str(src), str(tmp_path / "out"), settings, against=str(empty))["rows"]["rejected"] == 0
    # under a transformer "" has a vector of its own (0.81 to "." under the bundled model)
    from cltool.embed.model import bundled_model_path

    blank = write(tmp_path / "blank", {"positive": ["", "   ", None]})
    transformer = Settings(methods=("semantic",), method_options={"eps": (0.5,), "model": str(bundled_model_path())})
    assert dedup(str(src), str(tmp_path / "out2"), transformer, against=str(blank))["rows"]["rejected"] == 0

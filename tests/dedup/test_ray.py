"""`cltool dedup --engine ray`: on a local Ray instance started here, the same bytes as the local
engine, for MinHash (sketches and band groups split among tasks) and semantic dedup (clusters split
among tasks)."""

import numpy as np
import pyarrow as pa
import pytest

import cltool.dedup.ray_dedup as ray_dedup
from cltool.cli import main
from cltool.dedup import Settings, dedup
from cltool.dedup.near import lsh_params, near_duplicates
from tests.conftest import read_dataset, rejected_of

pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'cltool[ray]'")


def outputs_of(folder):
    return [p.read_bytes() for p in sorted(folder.rglob("*.parquet"))]


@pytest.fixture
def ray_calls(monkeypatch):
    """Counts the driver's calls into the Ray engine, so a test knows the Ray path ran."""
    calls = {"minhash": 0, "semantic": 0}
    for name, key in (("ray_near_duplicates", "minhash"), ("ray_pairs_in_clusters", "semantic")):
        original = getattr(ray_dedup, name)

        def counted(*args, _original=original, _key=key, **kwargs):
            calls[_key] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(ray_dedup, name, counted)
    return calls


@pytest.mark.parametrize("rows,reference", [(0, 0), (1, 0), (3, 0), (40, 0), (40, 25)])
def test_small_and_empty_inputs_split_among_tasks(ray_instance, rows, reference, planted_corpus):
    texts, _ = planted_corpus(seed=5, originals=10, length=30)
    array = pa.array(texts[:rows], pa.large_string())
    options = dict(threshold=0.7, ngram=3, char_ngrams=False, num_perm=64, seed=2, params=lsh_params(0.7, 64),
                   reference_rows=reference)
    local, on_ray = near_duplicates(array, **options), ray_dedup.ray_near_duplicates(array, **options)
    for field in ("removed", "duplicate_of", "jaccard"):
        assert np.array_equal(getattr(local, field), getattr(on_ray, field))
    assert (local.candidates, local.verified) == (on_ray.candidates, on_ray.verified)
    if rows == 40:
        assert len(on_ray.removed) > 0


def test_minhash_on_ray_removes_what_the_local_engine_removes(tmp_path, ray_instance, ray_calls, write, planted_corpus):
    texts, planted = planted_corpus(seed=4, originals=120)
    order = np.random.default_rng(0).permutation(len(texts))  # copies before and after their originals
    texts = [texts[i] for i in order]
    src = write(tmp_path / "in", {"positive": texts, "positive_id": [f"d{i}" for i in range(len(texts))]})
    reference = write(tmp_path / "ref", {"positive": texts[:40]})
    found = {}
    for engine in ("local", "ray"):
        manifest = dedup(str(src), str(tmp_path / engine), Settings(methods=("exact", "minhash"), engine=engine))
        assert manifest["params"]["engine"] == engine
        dedup(str(src), str(tmp_path / f"{engine}-against"), Settings(methods=("minhash",), engine=engine),
              against=str(reference))
        found[engine] = (outputs_of(tmp_path / engine), outputs_of(tmp_path / f"{engine}-against"),
                         manifest["summary"]["minhash"])
    assert ray_calls["minhash"] == 2  # once per Ray run, never for the local ones
    assert found["local"] == found["ray"]
    assert found["ray"][2]["candidate_pairs"] > 0
    assert read_dataset(rejected_of(tmp_path / "ray")).num_rows > 200  # the exact copies and the light edits


@pytest.mark.parametrize("clusters,dim", [(20, 16), (1, 128)])  # one big cluster: BLAS threads differ from Ray's
def test_semantic_on_ray_removes_what_the_local_engine_removes(tmp_path, ray_instance, ray_calls, clusters, dim, write):
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(40, dim))
    vectors = (np.repeat(centres, 12, axis=0) + rng.normal(scale=0.05 * 4 / np.sqrt(dim), size=(480, dim)))
    vectors = vectors.astype(np.float32)
    column = pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), dim)
    src = write(tmp_path / "in", {"positive": [f"text {i}" for i in range(480)], "positive_embedding": column})
    found = {}
    for engine in ("local", "ray"):
        args = ["dedup", str(src), "-o", str(tmp_path / engine), "--method", "semantic", "--clusters", str(clusters),
                "--eps", "0.01", "--engine", engine, "--quiet"]
        with pytest.raises(SystemExit) as exit:
            main(args)  # in this process: it joins the Ray instance the fixture started
        assert exit.value.code == 0
        found[engine] = outputs_of(tmp_path / engine)
    assert ray_calls["semantic"] == 1
    assert found["local"] == found["ray"]
    assert 0 < read_dataset(rejected_of(tmp_path / "ray")).num_rows < 480

"""`cltool dedup --engine ray`: on a local Ray instance started here, the same bytes as the local
engine, for MinHash (sketches and band groups split among tasks) and semantic dedup (clusters split
among tasks)."""

import numpy as np
import pyarrow as pa
import pytest

from cltool.cli import main
from cltool.dedup import Settings, dedup
from tests.conftest import read_dataset
from tests.dedup.test_dedup import planted_corpus, write

pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'cltool[ray]'")


def outputs_of(folder):
    return [p.read_bytes() for p in sorted(folder.rglob("*.parquet"))]


def test_minhash_on_ray_removes_what_the_local_engine_removes(tmp_path, ray_instance):
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
    assert found["local"] == found["ray"]
    assert found["ray"][2]["candidate_pairs"] > 0
    assert read_dataset(tmp_path / "ray" / "_rejected").num_rows > 200  # the exact copies and the light edits


def test_semantic_on_ray_removes_what_the_local_engine_removes(tmp_path, ray_instance):
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(40, 16))
    vectors = (np.repeat(centres, 12, axis=0) + rng.normal(scale=0.05, size=(480, 16))).astype(np.float32)
    column = pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), 16)
    src = write(tmp_path / "in", {"positive": [f"text {i}" for i in range(480)], "positive_embedding": column})
    found = {}
    for engine in ("local", "ray"):
        args = ["dedup", str(src), "-o", str(tmp_path / engine), "--method", "semantic", "--clusters", "20",
                "--eps", "0.01", "--engine", engine, "--quiet"]
        with pytest.raises(SystemExit) as exit:
            main(args)  # in this process: it joins the Ray instance the fixture started
        assert exit.value.code == 0
        found[engine] = outputs_of(tmp_path / engine)
    assert found["local"] == found["ray"]
    assert 0 < read_dataset(tmp_path / "ray" / "_rejected").num_rows < 480

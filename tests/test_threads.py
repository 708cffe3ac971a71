"""The steps that promise the same bytes for the same input (dedup, mine) keep it under any thread
count: a float32 BLAS product rounds a score differently with the threads and the block shape (more
so on some Intel CPUs), so decisions at a threshold or a cut are taken on exact dot products. Each run
is its own process, because BLAS, OpenMP and Numba read their thread counts once, at start-up."""

import numpy as np
import pytest

from tests.conftest import read_dataset, run_cltool, rejected_of

ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                     "NUMBA_NUM_THREADS", "CLTOOL_THREADS")}


def outputs_of(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.parquet"))}


def run_with_threads(tmp_path, name, *args):
    found = {}
    for label, env in (("default", {}), ("one", ONE_THREAD)):
        out = tmp_path / f"{name}-{label}"
        run = run_cltool(*args, "-o", str(out), "-q", env=env)
        assert run.returncode == 0, run.stderr.decode()
        found[label] = outputs_of(out)
    assert found["default"] and found["default"] == found["one"]
    return read_dataset(tmp_path / f"{name}-one"), read_dataset(rejected_of(tmp_path / f"{name}-one"))


@pytest.mark.parametrize("index", ["flat", "ivf"])
def test_mine_writes_the_same_bytes_on_one_thread_and_on_all(tmp_path, index, random_pairs, write_embedded):
    pairs, docs = random_pairs(seed=5, anchors=600, repeats=60, corpus=900, dim=48)
    source, corpus = write_embedded(tmp_path / "pairs", pairs), write_embedded(tmp_path / "docs", docs)
    kept, _ = run_with_threads(tmp_path, f"mine-{index}", "mine", source, "--corpus", corpus, "-n", "4",
                               "--index", index, "--nlist", "20", "--nprobe", "4", "--relative-margin", "none")
    assert sum(len(n) for n in kept.column("negatives").to_pylist()) > 1000


def test_semantic_dedup_writes_the_same_bytes_on_one_thread_and_on_all(tmp_path, write_table):
    import pyarrow as pa

    rng = np.random.default_rng(2)
    dim = 64
    centres = rng.normal(size=(150, dim))
    vectors = np.repeat(centres, 8, axis=0) + rng.normal(scale=0.02, size=(1200, dim))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    column = pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), dim)
    source = write_table(tmp_path / "in", {"positive": [f"text {i}" for i in range(1200)],
                                           "positive_embedding": column})
    kept, removed = run_with_threads(tmp_path, "semantic", "dedup", str(source), "--method", "semantic",
                                     "--clusters", "3", "--eps", "0.0005")
    assert 100 < removed.num_rows < 1100 and kept.num_rows + removed.num_rows == 1200

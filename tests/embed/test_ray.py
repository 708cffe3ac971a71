"""`cltool embed --engine ray`: an actor pool on a local Ray instance writes what the local engine
writes, with the bundled MiniLM: the same rows, rejected rows and column metadata, and vectors equal
to within rounding (torch's CPU kernels may sum in another order with another thread count, as MKL
does on some Intel CPUs); with the same thread count on both, the same bytes."""

import numpy as np
import pyarrow as pa
import pytest

import cltool.embed.ray_embed as ray_embed
from cltool.dataset.write import Output
from cltool.embed import Settings, embed
from tests.conftest import read_dataset, rejected_of

pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'cltool[ray]'")

EMBEDDINGS = ("anchor_embedding", "positive_embedding")


@pytest.fixture
def pairs(tmp_path):
    rows = [{"anchor": f"how do I do task {i}" if i != 7 else "  ",
             "positive": f"do task {i} with tool {i % 5}" + " and then check what it wrote" * (i % 4)}
            for i in range(60)]
    with Output(tmp_path / "pairs", command="test", params={}) as out:
        out.write(pa.Table.from_pylist(rows))
    return str(tmp_path / "pairs")


@pytest.fixture
def ray_calls(monkeypatch):
    calls = []
    original = ray_embed.embed_chunks
    monkeypatch.setattr(ray_embed, "embed_chunks", lambda *a, **k: calls.append(k) or original(*a, **k))
    return calls


@pytest.fixture
def torch_threads_restored():
    """CLTOOL_THREADS sets torch's thread count for this whole process: put it back afterwards."""
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def embed_both(pairs, tmp_path) -> dict[str, dict]:
    outputs = {}
    for engine in ("local", "ray"):
        manifest = embed(pairs, str(tmp_path / engine), Settings(cache=False, chunk_rows=25, engine=engine))
        assert manifest["rows"] == {"input": 60, "output": 59, "rejected": 1}  # the blank anchor, on both
        folder = tmp_path / engine
        outputs[engine] = {"threads": manifest["summary"]["torch_threads"],
                           "parts": [p.read_bytes() for p in sorted(folder.glob("part-*.parquet"))],
                           "rejected": [p.read_bytes() for p in sorted(rejected_of(folder).glob("*.parquet"))],
                           "table": read_dataset(tmp_path / engine)}
    return outputs


def test_the_ray_engine_writes_what_the_local_engine_writes(pairs, tmp_path, ray_instance, ray_calls):
    outputs = embed_both(pairs, tmp_path)
    assert [k["expected_chunks"] for k in ray_calls] == [3]  # the Ray path ran, for the Ray run only
    local, ray = outputs["local"]["table"], outputs["ray"]["table"]
    assert local.schema.equals(ray.schema, check_metadata=True)  # model, fingerprint, prompt: the same
    assert local.drop_columns(list(EMBEDDINGS)).equals(ray.drop_columns(list(EMBEDDINGS)))
    assert outputs["local"]["rejected"] == outputs["ray"]["rejected"]
    for column in EMBEDDINGS:
        a, b = (np.stack(t.column(column).to_numpy(zero_copy_only=False)) for t in (local, ray))
        cosines = np.einsum("ij,ij->i", a.astype(np.float64), b.astype(np.float64))
        cosines /= np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
        assert cosines.min() >= 1 - 1e-6, column  # the README's promise
        assert np.abs(a - b).max() <= 1e-6, column


def test_with_the_same_thread_count_the_engines_write_the_same_bytes(pairs, tmp_path, ray_instance, ray_calls,
                                                                     monkeypatch, torch_threads_restored):
    monkeypatch.setenv("CLTOOL_THREADS", "1")  # the local engine's torch threads, and each actor's
    outputs = embed_both(pairs, tmp_path)
    assert [k["expected_chunks"] for k in ray_calls] == [3]
    assert outputs["local"]["threads"] == outputs["ray"]["threads"] == 1
    assert outputs["local"]["parts"] == outputs["ray"]["parts"]
    assert outputs["local"]["rejected"] == outputs["ray"]["rejected"]

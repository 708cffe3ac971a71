"""`cltool embed --engine ray`: an actor pool on a local Ray instance writes the vectors the local
engine writes, with the bundled MiniLM."""

import pyarrow as pa
import pytest

import cltool.embed.ray_embed as ray_embed
from cltool.dataset.write import Output
from cltool.embed import embed

pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'cltool[ray]'")


def test_the_ray_engine_writes_what_the_local_engine_writes(tmp_path, ray_instance, monkeypatch):
    calls = []
    original = ray_embed.embed_chunks
    monkeypatch.setattr(ray_embed, "embed_chunks", lambda *a, **k: calls.append(k) or original(*a, **k))
    rows = [{"anchor": f"how do I do task {i}" if i != 7 else "  ", "positive": f"do task {i} with tool {i % 5}"}
            for i in range(60)]
    with Output(tmp_path / "pairs", command="test", params={}) as out:
        out.write(pa.Table.from_pylist(rows))
    outputs = {}
    for engine in ("local", "ray"):
        manifest = embed(str(tmp_path / "pairs"), str(tmp_path / engine), cache=False, chunk_rows=25, engine=engine)
        assert manifest["rows"] == {"input": 60, "output": 59, "rejected": 1}  # the blank anchor, on both
        outputs[engine] = [p.read_bytes() for p in sorted((tmp_path / engine).glob("part-*.parquet"))]
    assert [k["expected_chunks"] for k in calls] == [3]  # the Ray path ran, for the Ray run only
    assert outputs["local"] == outputs["ray"]

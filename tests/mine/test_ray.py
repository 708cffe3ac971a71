"""`cltool mine --engine ray`: on a local Ray instance started here, the same bytes as the local engine."""

import subprocess
import sys

import pytest

import cltool.mine.ray_search as ray_search
from cltool.mine import Settings, mine

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'cltool[ray]'")


@pytest.mark.parametrize("index", ["flat", "ivf"])
def test_the_ray_engine_writes_what_the_local_engine_writes(tmp_path, ray_instance, index, monkeypatch, write,
                                                            random_pairs):
    calls = []
    original = ray_search.ray_search
    monkeypatch.setattr(ray_search, "ray_search", lambda *a, **k: calls.append(a[3].index) or original(*a, **k))
    pairs, docs = random_pairs(seed=3, anchors=300, repeats=40, corpus=200)
    source, corpus = write(tmp_path / "pairs", pairs), write(tmp_path / "docs", docs)
    outputs = {}
    for engine in ("local", "ray"):
        settings = Settings(num_negatives=4, index=index, nlist=12, nprobe=4, engine=engine)
        manifest = mine(source, str(tmp_path / engine), settings, corpus=[corpus])
        outputs[engine] = (tmp_path / engine / "part-00000.parquet").read_bytes()
        assert manifest["params"]["engine"] == engine
    assert calls == [index]  # the Ray path ran, for the Ray run only
    assert outputs["local"] == outputs["ray"]


def test_engine_ray_without_ray_says_how_to_install(tmp_path, write, random_pairs):
    pairs, _ = random_pairs(seed=1, anchors=10, repeats=0, corpus=0)
    source = write(tmp_path / "pairs", pairs)
    code = ("import sys; sys.modules['ray'] = None; from cltool.cli import main; "
            f"main(['mine', {source!r}, '-o', {str(tmp_path / 'out')!r}, '--engine', 'ray'])")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 2 and "pip install 'cltool[ray]'" in run.stderr

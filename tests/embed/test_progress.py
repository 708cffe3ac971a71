"""No silent waits in embed: a line on stderr for loading the model, distilling a static model and
converting for OpenVINO; the manifest's stages add up to its wall time; a model folder is named by
what it is, not by the folder's last name ("model model")."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from cltool.dataset.manifest import read_manifest
from cltool.embed.model import DEFAULT_MODEL_ID, bundled_model_path, resolve_model
from tests.conftest import run_cltool


class Heard:
    """A reporter that keeps what it is told."""

    def __init__(self):
        self.infos, self.warnings = [], []

    def info(self, message):
        self.infos.append(message)

    def warn(self, message):
        self.warnings.append(message)

    def task(self, *args, **kwargs):
        from contextlib import nullcontext

        from cltool.progress import NullTask

        return nullcontext(NullTask())


def model_copy(tmp_path: Path) -> Path:
    """The bundled model in a folder named `model` elsewhere (its files linked, not copied)."""
    target = tmp_path / "models" / "model"
    shutil.copytree(bundled_model_path(), target, copy_function=os.symlink)
    return target


def test_embed_says_it_loads_the_model_its_stages_add_up_and_a_model_folder_is_named_by_its_path(tmp_path):
    source = tmp_path / "pairs.parquet"
    pq.write_table(pa.table({"anchor": ["how do I sort a list", "what is a hash map"],
                             "positive": ["use sorted(xs)", "a table from keys to values"]}), source)
    folder = model_copy(tmp_path)
    run = run_cltool("embed", str(source), "-o", str(tmp_path / "out"), "--model", str(folder), "--json",
                     env={"CLTOOL_CACHE_DIR": str(tmp_path / "cache")})
    stderr = run.stderr.decode()
    assert run.returncode == 0, stderr
    assert f"loading model {folder}" in stderr  # before the wait, not after it
    assert "model model" not in stderr and f"model {folder}, 384 dimensions" in stderr
    manifest = json.loads(run.stdout)
    assert manifest["params"]["model_id"] == str(folder)
    on_disk = read_manifest(tmp_path / "out")
    stages = on_disk["stages"]
    assert stages["load model"] > 0 and "model" in stages  # loading and resolving the model are stages of their own
    assert abs(sum(stages.values()) - on_disk["wall_time_s"]) <= 0.1 * on_disk["wall_time_s"], stages


def test_the_bundled_model_given_as_a_folder_is_named_by_its_hub_id(tmp_path):
    spec = resolve_model(str(bundled_model_path()), tmp_path)
    assert spec.model_id == DEFAULT_MODEL_ID and spec.name == str(bundled_model_path())


def test_a_hub_cache_snapshot_folder_is_named_by_its_repository(tmp_path):
    snapshot = tmp_path / "hub" / "models--acme--tiny-embedder" / "snapshots" / "0123abcd"
    snapshot.parent.mkdir(parents=True)
    shutil.copytree(bundled_model_path(), snapshot, copy_function=os.symlink)
    assert resolve_model(str(snapshot), tmp_path).model_id == "acme/tiny-embedder"


def test_distilling_a_static_model_and_converting_for_openvino_are_announced(tmp_path, monkeypatch):
    """The one-time builds (about a minute for the static model) are stubbed here; what is tested is
    that the user hears of them before they start, and only on first use."""
    import cltool.embed.openvino as openvino
    import cltool.embed.static as static

    built = []

    def fake_build(base, path, marker):
        built.append(path)
        path.mkdir(parents=True)
        (path / marker).write_text(json.dumps({"model_type": "model2vec"}))

    monkeypatch.setattr(static, "build_static_model", lambda base, path: fake_build(base, path, "config.json"))
    monkeypatch.setattr(openvino, "build_openvino_model",
                        lambda base, path: fake_build(base, path, "cltool-openvino.json"))
    heard = Heard()
    resolve_model("static", tmp_path, heard)
    assert len(built) == 1 and any(m.startswith("distilling a static model from " + DEFAULT_MODEL_ID)
                                   for m in heard.infos), heard.infos
    resolve_model("openvino", tmp_path, heard)
    assert len(built) == 2 and any(m.startswith(f"converting {DEFAULT_MODEL_ID} for OpenVINO") for m in heard.infos)
    again = Heard()
    resolve_model("static", tmp_path, again)
    resolve_model("openvino", tmp_path, again)
    assert len(built) == 2 and not any("distilling" in m or "converting" in m for m in again.infos)

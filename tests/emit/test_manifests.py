"""Where emit's manifest goes: NAME.manifest.json beside every training file it writes (each split's
with --split, in both spellings of the split's name), each the whole emit's, listing every file with
its sha256; a manifest an earlier emit left under the old name (emit.manifest.json) is removed; the
pipeline runner finds the manifest to tell that an emit step is up to date."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cltool.dataset.manifest import file_sha256
from cltool.emit import Settings, emit, sidecar


def manifests_beside(files: list[Path]) -> list[dict]:
    found = []
    for f in files:
        path = f.with_name(f.name[:-len(".jsonl")] + ".manifest.json")
        assert path.is_file(), f"no manifest beside {f}"
        found.append(json.loads(path.read_text()))
    return found


@pytest.mark.parametrize("output, files", [
    ("out/{split}.jsonl", ["out/train.jsonl", "out/dev.jsonl"]),
    ("out/data-{split}.jsonl", ["out/data-train.jsonl", "out/data-dev.jsonl"]),
    ("out/data.jsonl", ["out/data-train.jsonl", "out/data-dev.jsonl"]),
    ("out/{split}/data.jsonl", ["out/train/data.jsonl", "out/dev/data.jsonl"]),
])
def test_each_split_file_has_its_manifest_beside_it(tmp_path, output, files, mined, chained_rows):
    source = mined(tmp_path / "mined", chained_rows(), num_negatives=1)
    returned = emit(source, str(tmp_path / output), Settings(split={"dev": 0.2}))
    files = [tmp_path / f for f in files]
    found = manifests_beside(files)
    assert found[0] == found[1]  # each the whole emit
    listed = {f["path"]: f for f in found[0]["outputs"]}
    for f in files:
        assert listed[str(f)]["sha256"] == file_sha256(f)
    assert found[0]["manifests"] == [str(f.with_name(f.name[:-len(".jsonl")] + ".manifest.json")) for f in files]
    assert returned["manifest_path"] == found[0]["manifests"][0]
    assert not (tmp_path / "out" / "emit.manifest.json").exists()
    assert sidecar(str(tmp_path / output), "manifest.json") == Path(found[0]["manifests"][0])  # what run reads


def test_an_unsplit_file_keeps_name_manifest_json(tmp_path, mined):
    source = mined(tmp_path / "mined")
    emit(source, str(tmp_path / "train.jsonl"), Settings())
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("train")) == [
        "train.jsonl", "train.manifest.json"]
    assert sidecar(str(tmp_path / "train.jsonl"), "manifest.json") == tmp_path / "train.manifest.json"


def test_the_old_single_manifest_of_a_split_emit_is_removed(tmp_path, mined, chained_rows):
    source = mined(tmp_path / "mined", chained_rows(), num_negatives=1)
    out = tmp_path / "out"
    out.mkdir()
    (out / "emit.manifest.json").write_text(json.dumps({"format": "cltool-emit/1", "outputs": [  # as 0.1 wrote it
        {"path": str(out / "train.jsonl"), "split": "train"}, {"path": str(out / "dev.jsonl"), "split": "dev"}]}))
    (out / "keep.manifest.json").write_text(json.dumps({"format": "cltool-dataset/2"}))
    emit(source, str(out / "{split}.jsonl"), Settings(split={"dev": 0.2}))
    assert sorted(p.name for p in out.iterdir()) == ["dev.jsonl", "dev.manifest.json", "keep.manifest.json",
                                                     "train.jsonl", "train.manifest.json"]


def test_a_pipeline_emit_step_with_splits_is_up_to_date_on_the_second_run(tmp_path, mined, chained_rows):
    from cltool.pipeline.runner import load, up_to_date
    from tests.conftest import run_cltool

    source = mined(tmp_path / "mined", chained_rows(), num_negatives=1)
    (tmp_path / "pipeline.toml").write_text(f"""
[[step]]
name = "emitted"
command = "emit"
input = "{source}"
output = "out/{{split}}.jsonl"
options = {{ split = "dev=0.2" }}
""")
    result = run_cltool("run", str(tmp_path / "pipeline.toml"), "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (step,) = load(str(tmp_path / "pipeline.toml"))
    assert up_to_date(step) == (True, "up to date")


def test_an_unsplit_emits_manifest_survives_a_split_emit_of_the_same_name(tmp_path, mined, chained_rows):
    """`-o x/out.jsonl` then `-o x/out.jsonl --split`: out.jsonl is still there, and so is its manifest
    (only a manifest of an earlier release's split files is stale)."""
    source = mined(tmp_path / "mined", chained_rows(), num_negatives=1)
    emit(source, str(tmp_path / "x" / "out.jsonl"), Settings())
    emit(source, str(tmp_path / "x" / "out.jsonl"), Settings(split={"dev": 0.2}))
    assert (tmp_path / "x" / "out.jsonl").is_file()
    kept = json.loads((tmp_path / "x" / "out.manifest.json").read_text())
    assert [f["path"] for f in kept["outputs"]] == [str(tmp_path / "x" / "out.jsonl")]


def test_validate_finds_the_emit_manifest_from_another_directory_and_after_a_move(tmp_path, monkeypatch, mined,
                                                                                  chained_rows):
    from tests.conftest import run_cltool

    source = mined(tmp_path / "mined", chained_rows(), num_negatives=1)
    monkeypatch.chdir(tmp_path)
    emit(source, "data/train.jsonl", Settings())  # paths recorded relative to where emit ran
    for cwd, target in ((tmp_path / "data", "train.jsonl"), (tmp_path, "data/train.jsonl")):
        done = run_cltool("validate", target, "--json", cwd=cwd)
        check = next(c for c in json.loads(done.stdout)["checks"] if c["name"] == "manifest")
        assert check["status"] == "pass", (cwd, check)
    (tmp_path / "data").rename(tmp_path / "moved")
    done = run_cltool("validate", "moved/train.jsonl", "--json", cwd=tmp_path)
    check = next(c for c in json.loads(done.stdout)["checks"] if c["name"] == "manifest")
    assert check["status"] == "pass", check

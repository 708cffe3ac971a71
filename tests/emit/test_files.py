"""Emit's files (cltool/emit/files.py): each is written under a temporary name beside its own and
takes its name only when all are complete, so a failure or a kill leaves the old files or the new
ones, whole; the next emit finishes the renames of a killed writer and clears its debris."""

import json

import pytest

from cltool.emit import Settings, emit


def test_a_failure_before_the_manifest_leaves_no_file_behind(tmp_path, monkeypatch, mined):
    import cltool.emit.run

    source = mined(tmp_path / "mined")

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(cltool.emit.run, "_write_rejected", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        emit(source, str(tmp_path / "out" / "train.jsonl"), Settings(format="n-tuple", short="drop"))
    assert list((tmp_path / "out").iterdir()) == []


DEAD_PID = 4_194_999  # above Linux's largest pid: no process has it


def test_the_next_emit_finishes_a_killed_commit_and_clears_its_debris(tmp_path, mined, chained_rows):
    """A writer killed between two renames left new train beside old dev: the next emit to the same
    place finishes the renames from the journal first; temporary files of dead writers go."""
    from cltool.emit.files import StagedFiles

    source = mined(tmp_path / "mined", chained_rows())
    target = str(tmp_path / "out" / "{split}.jsonl")
    emit(source, target, Settings(split={"dev": 0.2}))
    out = tmp_path / "out"
    manifest = out / "train.manifest.json"
    staged = out / f".dev.jsonl.cltool-tmp-{DEAD_PID}"
    staged.write_text('{"anchor": "new"}\n')
    (out / f".{manifest.name}.cltool-commit-{DEAD_PID}").write_text(json.dumps([[str(staged), str(out / "dev.jsonl")]]))
    debris = out / f".train.jsonl.cltool-tmp-{DEAD_PID}"
    debris.write_text("half a file")
    StagedFiles(None, manifest)  # what the next emit does first
    assert (out / "dev.jsonl").read_text() == '{"anchor": "new"}\n' and not staged.exists()
    assert not list(out.glob(f"*.cltool-commit-{DEAD_PID}"))
    emit(source, target, Settings(split={"dev": 0.2}))
    assert not debris.exists()
    assert sorted(p.name for p in out.iterdir()) == ["dev.jsonl", "dev.manifest.json", "train.jsonl", "train.manifest.json"]


def test_emit_killed_at_any_point_leaves_old_or_new_files_whole(tmp_path, mined, chained_rows):
    """SIGKILL at several points of a real emit process; the next run writes exactly what an
    uninterrupted run writes, and nothing else is left in the folder."""
    import os
    import signal
    import subprocess
    import sys
    import time

    source = mined(tmp_path / "mined", chained_rows(2000))
    reference = tmp_path / "ref"
    emit(source, str(reference / "{split}.jsonl"), Settings(split={"dev": 0.1}))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "cltool", "emit", source, "--split", "dev=0.1", "-o", str(out / "{split}.jsonl"),
               "-q"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    for delay in (0.3, 0.6, 0.9, 1.2, 1.5):
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        for name in ("train.jsonl", "dev.jsonl"):  # a file that is there is whole: the reference's bytes
            if (out / name).exists():
                assert (out / name).read_bytes() == (reference / name).read_bytes()
    assert subprocess.run(command, env=env, capture_output=True).returncode == 0
    for name in ("train.jsonl", "dev.jsonl"):
        assert (out / name).read_bytes() == (reference / name).read_bytes()
    assert sorted(p.name for p in out.iterdir()) == ["dev.jsonl", "dev.manifest.json", "train.jsonl", "train.manifest.json"]

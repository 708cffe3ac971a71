"""`cltool run`: a pipeline runs in order, skips what is up to date and redoes what changed; and a
step killed with SIGKILL, run again, writes the same bytes as a run never interrupted (embed, mine)."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from cltool.errors import UsageError
from cltool.pipeline import load, run
from cltool.dataset.manifest import has_manifest, read_manifest
from tests.conftest import write_jsonl

TOPICS = ["sorting lists", "reading files", "parsing dates", "joining paths", "formatting strings", "hashing data"]


def pairs(n: int) -> list[dict]:
    return [{"query": f"how do I handle {TOPICS[i % 6]} case {i}", "answer": f"for {TOPICS[i % 6]}, step {i}: use "
             f"the standard library function number {i * 7 % 13} with care"} for i in range(n)]


def pipeline(tmp_path: Path, mine_negatives: int = 2) -> str:
    write_jsonl(tmp_path / "pairs.jsonl", pairs(24))
    (tmp_path / "pipeline.toml").write_text(f"""
[[step]]
name = "pairs"
command = "ingest"
input = "pairs.jsonl"
output = "out/pairs"

[[step]]
name = "embedded"
command = "embed"
input = "pairs"
output = "out/embedded"

[[step]]
name = "mined"
command = "mine"
input = "embedded"
output = "out/mined"
options = {{ num-negatives = {mine_negatives}, relative-margin = "off" }}

[[step]]
name = "emitted"
command = "emit"
input = "mined"
output = "out/train.jsonl"
""")
    return str(tmp_path / "pipeline.toml")


def test_a_pipeline_runs_then_skips_and_redoes_only_what_changed(tmp_path, monkeypatch):
    monkeypatch.setenv("CLTOOL_CACHE_DIR", str(tmp_path / "cache"))
    path = pipeline(tmp_path)
    first = run(path, quiet=True, echo=lambda line: None)
    assert [s["action"] for s in first["steps"]] == ["run"] * 4
    lines = (tmp_path / "out" / "train.jsonl").read_text().splitlines()
    assert len(lines) == 24 and "negative_2" in json.loads(lines[0])

    assert [s["action"] for s in run(path, echo=lambda line: None)["steps"]] == ["skip"] * 4
    pipeline(tmp_path, mine_negatives=3)  # one option of one step changes
    again = run(path, quiet=True, echo=lambda line: None)["steps"]
    assert [s["action"] for s in again] == ["skip", "skip", "run", "run"]
    assert again[2]["why"] == "the command line changed" and again[3]["why"].startswith("input")
    assert "negative_3" in json.loads((tmp_path / "out" / "train.jsonl").read_text().splitlines()[0])

    printed = []
    dry = run(path, start="embedded", dry_run=True, echo=printed.append)["steps"]
    assert [s["action"] for s in dry] == ["skip", "would run", "would run", "would run"]
    assert printed[1].startswith("[embedded] would run (--from): cltool embed out/pairs -o out/embedded")


def test_bad_pipelines_are_refused(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[step]]\nname = "x"\ncommand = "explode"\n')
    with pytest.raises(UsageError, match="commands"):
        load(str(bad))
    bad.write_text('[[step]]\nname = "x"\ncommand = "embed"\ninput = "a"\noutput = "b"\ncolour = "red"\n')
    with pytest.raises(UsageError, match="unknown keys"):
        load(str(bad))
    path = pipeline(tmp_path)
    with pytest.raises(UsageError, match="no such step"):
        run(path, start="nothing", dry_run=True, echo=lambda line: None)


def test_the_example_pipeline_declares_the_makefile_chain():
    steps = load(str(Path(__file__).parents[2] / "examples" / "pipeline.toml"))
    assert [s.command for s in steps] == ["ingest", "embed", "dedup", "mine", "filter", "emit", "validate", "report"]
    assert steps[3].argv()[:2] == ["mine", "out/deduped"]


def cltool(*args: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cltool", *args, "-q"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def parts(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.glob("part-*.parquet"))}


def committed_vectors(cache: Path) -> int:
    """Vectors the embedding cache has committed (a reader of the WAL database sees only those). The
    files' size is no sign: the WAL grows inside a transaction a kill would roll back."""
    path = cache / "embeddings.sqlite"
    if not path.exists():
        return 0
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)) as db:
            return db.execute("SELECT count(*) FROM embedding").fetchone()[0]
    except sqlite3.Error:  # not created yet, or locked for a moment
        return 0


def kill_when(process: subprocess.Popen, ready, timeout: float = 60) -> bool:
    """SIGKILL the process once ready() holds; False if it finished first."""
    deadline = time.time() + timeout
    while time.time() < deadline and process.poll() is None:
        if ready():
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.05)
    process.wait()
    return False


def test_embed_and_mine_killed_partway_then_run_again_write_the_same_bytes(tmp_path):
    write_jsonl(tmp_path / "pairs.jsonl", pairs(700))
    base = {**os.environ, "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "-m", "cltool", "ingest", str(tmp_path / "pairs.jsonl"), "-o",
                    str(tmp_path / "pairs"), "-q"], env=base, check=True)

    # uninterrupted, with a cache of its own
    clean = {**base, "CLTOOL_CACHE_DIR": str(tmp_path / "cache-clean")}
    assert cltool("embed", str(tmp_path / "pairs"), "-o", str(tmp_path / "embedded-clean"), env=clean).wait() == 0
    # killed once its cache holds some vectors (written a slice at a time), then run again
    cache = tmp_path / "cache-killed"
    killed_env = {**base, "CLTOOL_CACHE_DIR": str(cache)}
    target = tmp_path / "embedded"
    process = cltool("embed", str(tmp_path / "pairs"), "-o", str(target), env=killed_env)
    was_killed = kill_when(process, lambda: committed_vectors(cache) > 0)
    assert not has_manifest(target) or not was_killed  # no half-written output
    assert cltool("embed", str(tmp_path / "pairs"), "-o", str(target), env=killed_env).wait() == 0
    manifest = read_manifest(target)
    if was_killed:
        assert manifest["summary"]["cache_hits"] > 0  # the second run resumed from what the first kept
    assert parts(target) == parts(tmp_path / "embedded-clean")

    assert cltool("mine", str(target), "-o", str(tmp_path / "mined-clean"), env=base).wait() == 0
    mined = tmp_path / "mined"
    process = cltool("mine", str(target), "-o", str(mined), env=base)
    kill_when(process, lambda: any(tmp_path.glob(".mined.cltool-tmp-*")))  # while it writes
    # a write of these 700 rows can finish between two looks (every 50 ms) and before the signal
    # lands: then the output is whole; otherwise there is none, never half of one
    assert process.returncode in (0, -signal.SIGKILL)
    if has_manifest(mined):
        assert parts(mined) == parts(tmp_path / "mined-clean")
    assert cltool("mine", str(target), "-o", str(mined), env=base).wait() == 0
    assert parts(mined) == parts(tmp_path / "mined-clean")
    assert not list(tmp_path.glob(".mined.cltool-tmp-*"))  # the dead run's debris is gone

"""SIGKILL at random points of every writing command (issue 16): what is left at the output is the old
output or the new one, whole (a dataset's manifest verifies against its shards), never a mix; the
next run writes the new one and leaves no debris beside it.

embed and mine (killed partway, then resumed: the same bytes) are in tests/pipeline/test_pipeline.py,
emit's split files and journal in tests/emit/test_emit.py; this file covers the other writers and
`cltool run`. The kill points are drawn from a seeded generator across the run's own duration."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import write_task_sources

ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}
KILLS = 2


def state(path: Path) -> dict[str, bytes] | None:
    """What a reader finds at `path`: None when nothing is there, else the bytes of each data file
    (a dataset is opened first: its manifest must verify, rows, sizes and sha256)."""
    if not path.exists():
        return None
    if path.is_file():
        return {path.name: path.read_bytes()}
    from cltool.dataset import open_dataset

    open_dataset(str(path))  # raises if the manifest does not match its shards
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*.parquet"))}


def cltool(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cltool", *args, "-q"], env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def finish(*args: str) -> float:
    started = time.perf_counter()
    process = cltool(*args)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err.decode()
    return time.perf_counter() - started


def killed_at_random_points(old: tuple[str, ...], new: tuple[str, ...], outputs: list[Path], seed: int) -> None:
    """Write `old`, then kill `new` at random points of its run, then let `new` finish: after every
    kill each output is the old one or the new one, whole."""
    duration = finish(*old)
    olds = [state(out) for out in outputs]
    seen = []
    rng = random.Random(seed)
    for _ in range(KILLS):
        process = cltool(*new)
        time.sleep(rng.uniform(0.3, 1.0) * duration)
        process.send_signal(signal.SIGKILL)
        process.wait()
        seen.append([state(out) for out in outputs])
    finish(*new)
    news = [state(out) for out in outputs]
    assert news != olds  # the two runs write different things: the check below can tell them apart
    for after_kill in seen:
        for found, before, after, out in zip(after_kill, olds, news, outputs):
            assert found in (before, after), f"{out} after a kill is neither the old nor the new output"
    for out in outputs:  # the dead runs' temporary files are gone
        assert not [p.name for p in out.parent.iterdir() if ".cltool-tmp-" in p.name or p.name.endswith(".partial")]


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> Path:
    root = write_task_sources(tmp_path_factory.mktemp("killed"))
    finish("ingest", str(root / "large.jsonl"), "-o", str(root / "pairs"))
    return root


def test_ingest_killed(sources, tmp_path):
    out = tmp_path / "pairs"
    killed_at_random_points(("ingest", str(sources / "small.jsonl"), "-o", str(out)),
                            ("ingest", str(sources / "large.jsonl"), "-o", str(out)), [out], seed=1)


def test_dedup_killed(sources, tmp_path):
    out = tmp_path / "deduped"
    killed_at_random_points(("dedup", str(sources / "pairs"), "--method", "exact", "--on", "anchor", "-o", str(out)),
                            ("dedup", str(sources / "pairs"), "--method", "exact,minhash", "--on", "positive",
                             "-o", str(out)), [out], seed=2)


def test_filter_validate_and_report_killed(chain, tmp_path):
    out, junit, page = tmp_path / "filtered", tmp_path / "validate.xml", tmp_path / "report.html"
    killed_at_random_points(("filter", str(chain / "mined"), "--judge", "lexical", "-o", str(out)),
                            ("filter", str(chain / "mined"), "--judge", "lexical", "--lexical-threshold", "0.05", "-o",
                             str(out)), [out], seed=3)
    killed_at_random_points(("validate", str(chain / "pairs"), "--junit", str(junit)),
                            ("validate", str(chain / "mined"), "--junit", str(junit)), [junit], seed=4)
    killed_at_random_points(("report", str(chain / "pairs"), "-o", str(page)),
                            ("report", str(chain / "mined"), "-o", str(page)), [page], seed=5)


def test_a_pipeline_killed(sources, tmp_path):
    (tmp_path / "pipeline.toml").write_text(f"""
[[step]]
name = "pairs"
command = "ingest"
input = "{sources / 'large.jsonl'}"
output = "out/pairs"

[[step]]
name = "deduped"
command = "dedup"
input = "pairs"
output = "out/deduped"
options = {{ method = "exact,minhash" }}
""")
    (tmp_path / "old.toml").write_text((tmp_path / "pipeline.toml").read_text().replace("large.jsonl", "small.jsonl"))
    killed_at_random_points(("run", str(tmp_path / "old.toml")), ("run", str(tmp_path / "pipeline.toml")),
                            [tmp_path / "out" / "pairs", tmp_path / "out" / "deduped"], seed=6)

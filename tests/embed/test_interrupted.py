"""An interrupted `cltool embed` keeps what it encoded: every slice of texts is committed to the
embedding cache as soon as it is encoded, so a re-run takes them from there (and says how many)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from cltool.dataset.manifest import read_manifest
from cltool.embed.cache import CACHE_FILE
from cltool.embed.embedder import SLICE_BATCHES
from tests.conftest import run_cltool

BATCH = 4  # texts per forward pass: a slice (and a commit) every SLICE_BATCHES x 4 = 32 texts
ROWS = 200


def cached(cache_file: Path) -> int:
    if not cache_file.is_file():
        return 0
    try:
        db = sqlite3.connect(f"file:{cache_file}?mode=ro", uri=True, timeout=5)
        try:
            return db.execute("SELECT count(*) FROM embedding").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:  # not created yet
        return 0


def test_an_interrupted_embed_keeps_what_it_encoded_and_a_rerun_takes_it_from_the_cache(tmp_path):
    source = tmp_path / "pairs.parquet"
    pq.write_table(pa.table({
        "anchor": [f"question {i}: how would one go about configuring item number {i} of the system" for i in range(ROWS)],
        "positive": [f"answer {i}: open the settings, find entry {i}, and change its value to {i * 7}" for i in range(ROWS)],
    }), source)
    cache_dir = tmp_path / "cache"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CLTOOL_CACHE_DIR": str(cache_dir)}
    env.pop("CLTOOL_DEBUG", None)
    process = subprocess.Popen([sys.executable, "-m", "cltool", "embed", str(source), "-o", str(tmp_path / "out"),
                                "--batch-size", str(BATCH)], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    wanted = 3 * SLICE_BATCHES * BATCH  # three slices committed
    try:
        while process.poll() is None and cached(cache_dir / CACHE_FILE) < wanted:
            time.sleep(0.05)  # polling the cache file, not waiting a guessed time
        assert process.poll() is None, "embed finished before it could be interrupted"
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr.decode()
    assert read_manifest(tmp_path / "out") is None  # no output from an interrupted run
    kept = cached(cache_dir / CACHE_FILE)
    assert wanted <= kept < 2 * ROWS  # the finished slices are in the cache; not everything was done

    rerun = run_cltool("embed", str(source), "-o", str(tmp_path / "again"), "--batch-size", str(BATCH), "--json",
                       env={"CLTOOL_CACHE_DIR": str(cache_dir)})
    assert rerun.returncode == 0, rerun.stderr.decode()
    summary = json.loads(rerun.stdout)["summary"]
    assert summary["cache_hits"] >= kept and summary["cache_hits"] + summary["encoded"] == 2 * ROWS
    assert f"{summary['cache_hits']:,} from the cache" in rerun.stderr.decode()
    assert read_manifest(tmp_path / "again")["summary"]["cache_hits"] == summary["cache_hits"]

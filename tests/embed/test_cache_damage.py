"""The embedding cache never fails a run: a damaged file is set aside and replaced by a fresh one,
a locked one is waited for, an unusable folder is done without, each with a warning naming the file.
Real SQLite files, damaged the way disks and crashes damage them; real `cltool embed` processes."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cltool.embed.cache import CACHE_FILE, EmbeddingCache
from cltool.progress import NullReporter
from tests.conftest import run_cltool

PAGE = 4096


def small_pairs(path: Path) -> Path:
    pq.write_table(pa.table({"anchor": ["how do I sort a list", "what is a hash map"],
                             "positive": ["use sorted(xs)", "a table from keys to values"]}), path)
    return path


def filled_cache(directory: Path, n: int = 2_000, seed: int = 0) -> tuple[list[bytes], np.ndarray]:
    rng = np.random.default_rng(seed)
    keys = [rng.bytes(16) for _ in range(n)]
    vectors = rng.standard_normal((n, 384)).astype(np.float32)
    cache = EmbeddingCache(directory)
    cache.put(keys, vectors)
    cache._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file, none in the WAL
    cache.close()
    return keys, vectors


def overwrite_pages(path: Path, first: float, last: float) -> None:
    """Overwrite the pages between these shares of the file with 0xFF, as a torn or stray write does."""
    pages = path.stat().st_size // PAGE
    with open(path, "r+b") as f:
        for page in range(max(int(pages * first), 2), int(pages * last)):
            f.seek(page * PAGE)
            f.write(b"\xff" * PAGE)


def set_aside(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name.startswith(CACHE_FILE + ".damaged-")
                  and not p.name.endswith(("-wal", "-shm")))


def embed_json(tmp_path: Path, cache_dir: Path, name: str):
    run = run_cltool("embed", str(small_pairs(tmp_path / "pairs.parquet")), "-o", str(tmp_path / name), "--json",
                     env={"CLTOOL_CACHE_DIR": str(cache_dir)})
    return run, (json.loads(run.stdout) if run.returncode == 0 else None)


def test_a_cache_that_is_not_a_database_is_set_aside_and_the_run_goes_on(tmp_path):
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    (cache_dir / CACHE_FILE).write_bytes(b"these bytes are no SQLite database\n" * 200)
    run, manifest = embed_json(tmp_path, cache_dir, "out")
    stderr = run.stderr.decode()
    assert run.returncode == 0, stderr
    [aside] = set_aside(cache_dir)
    assert aside.read_bytes().startswith(b"these bytes")  # the damaged file, kept for whoever wants to look
    assert str(cache_dir / CACHE_FILE) in stderr and aside.name in stderr and "warning" in stderr
    assert manifest["summary"]["cache"]["set_aside"] == [str(aside)]
    assert manifest["summary"]["encoded"] == 4
    # the fresh cache works: a second run takes every text from it
    again, manifest = embed_json(tmp_path, cache_dir, "again")
    assert again.returncode == 0 and "warning" not in again.stderr.decode()
    assert manifest["summary"]["cache_hits"] == 4 and manifest["summary"]["encoded"] == 0


def test_a_cache_with_overwritten_pages_is_set_aside_and_the_run_goes_on(tmp_path):
    cache_dir = tmp_path / "cache"
    filled_cache(cache_dir)
    overwrite_pages(cache_dir / CACHE_FILE, 0.0, 0.3)  # from page 2 (the table's root) on
    check = sqlite3.connect(cache_dir / CACHE_FILE)
    try:
        check.execute("SELECT count(*) FROM embedding").fetchone()
        raise AssertionError("the damage was not damage")
    except sqlite3.DatabaseError as exc:
        assert "malformed" in str(exc)
    finally:
        check.close()
    run, manifest = embed_json(tmp_path, cache_dir, "out")
    stderr = run.stderr.decode()
    assert run.returncode == 0, stderr
    assert "malformed" in stderr and str(cache_dir / CACHE_FILE) in stderr
    [aside] = set_aside(cache_dir)
    assert manifest["summary"]["cache"]["set_aside"] == [str(aside)] and manifest["summary"]["encoded"] == 4


def test_damage_found_on_a_read_mid_run_sets_the_file_aside_and_goes_on_fresh(tmp_path):
    """The table's first pages are whole (opening the cache reads them), pages further on are not:
    the damage shows only when a lookup reaches them."""
    cache_dir = tmp_path / "cache"
    keys, vectors = filled_cache(cache_dir)
    overwrite_pages(cache_dir / CACHE_FILE, 0.5, 0.7)
    reporter = NullReporter()
    cache = EmbeddingCache(cache_dir, reporter)
    assert cache.usable and not reporter.warnings
    assert cache.get(keys) == {}  # nothing read from a damaged file is used: those texts are encoded again
    assert len(reporter.warnings) == 1 and "malformed" in reporter.warnings[0]
    assert str(cache_dir / CACHE_FILE) in reporter.warnings[0]
    [aside] = set_aside(cache_dir)
    assert cache.set_aside == [aside]
    cache.put(keys[:10], vectors[:10])  # into the fresh file
    assert np.array_equal(cache.get(keys[:10])[keys[3]], vectors[3])
    cache.close()


def test_damage_found_on_a_write_mid_run_sets_the_file_aside_and_keeps_the_vectors(tmp_path):
    cache_dir = tmp_path / "cache"
    filled_cache(cache_dir)
    overwrite_pages(cache_dir / CACHE_FILE, 0.4, 0.8)
    reporter = NullReporter()
    cache = EmbeddingCache(cache_dir, reporter)
    rng = np.random.default_rng(1)
    new_keys = [rng.bytes(16) for _ in range(500)]  # random keys: inserts land all over the tree
    new_vectors = rng.standard_normal((500, 384)).astype(np.float32)
    cache.put(new_keys, new_vectors)
    assert len(set_aside(cache_dir)) == 1 and "malformed" in reporter.warnings[0]
    found = cache.get(new_keys)
    assert len(found) == 500 and np.array_equal(found[new_keys[7]], new_vectors[7])
    cache.close()


def test_a_cache_locked_by_another_writer_is_waited_for(tmp_path):
    cache_dir = tmp_path / "cache"
    keys, vectors = filled_cache(cache_dir, n=10)
    other = sqlite3.connect(cache_dir / CACHE_FILE, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process's write transaction, holding the write lock
    other.execute("INSERT INTO embedding (key, vector) VALUES (?, ?)", (b"k" * 16, vectors[0].tobytes()))
    reporter = NullReporter()
    new_keys = [bytes([i]) * 16 for i in range(5)]
    read: dict = {}

    def embed_run():  # what an embed run does with the cache, in a thread of its own
        cache = EmbeddingCache(cache_dir, reporter)
        read.update(cache.get(keys))  # readers are not blocked
        cache.put(new_keys, vectors[:5])
        read.update(cache.get(new_keys + [b"k" * 16]))
        cache.close()

    writer = threading.Thread(target=embed_run)
    writer.start()
    writer.join(timeout=1.0)
    assert writer.is_alive()  # it cannot write while the other holds the lock: it waits
    other.execute("COMMIT")
    other.close()
    writer.join()
    assert not reporter.warnings and not set_aside(cache_dir)
    assert len(read) == 10 + 6


def test_a_cache_folder_that_cannot_be_made_is_done_without(tmp_path):
    not_a_folder = tmp_path / "cache-is-a-file"
    not_a_folder.write_text("a file where the cache folder should be")
    run, manifest = embed_json(tmp_path, not_a_folder, "out")
    stderr = run.stderr.decode()
    assert run.returncode == 0, stderr
    assert "without the cache" in stderr and str(not_a_folder) in stderr
    assert manifest["summary"]["cache"]["used"] is False and manifest["summary"]["encoded"] == 4
    assert not_a_folder.read_text() == "a file where the cache folder should be"

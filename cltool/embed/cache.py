"""A content-addressed embedding cache: one SQLite file, shared by every run and every dataset.

The key of an embedding is a hash of everything that decides it: the model's weight fingerprint,
the prompt, normalisation, the maximum sequence length, and the text itself. So a re-run on
unchanged data embeds nothing, a partly changed dataset embeds only its new texts, and two
datasets that share texts share their embeddings. Vectors are stored as float32 bytes; the
output precision is applied after the cache.

Delete the file (or the whole CLTOOL_CACHE_DIR) to reclaim the space; nothing else depends on it.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

CACHE_FILE = "embeddings.sqlite"
_LOOKUP_CHUNK = 900  # under SQLite's default limit on bound parameters per statement


def default_cache_dir() -> Path:
    if os.environ.get("CLTOOL_CACHE_DIR"):
        return Path(os.environ["CLTOOL_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cltool"


def space_key(*parts: object) -> bytes:
    """What, besides the text, decides an embedding: hashed once per run."""
    return hashlib.blake2b("\x1f".join(map(str, parts)).encode("utf-8"), digest_size=16).digest()


def text_keys(space: bytes, texts: Iterable[str]) -> list[bytes]:
    keys = []
    for text in texts:
        h = hashlib.blake2b(space, digest_size=16)
        h.update(text.encode("utf-8"))
        keys.append(h.digest())
    return keys


class EmbeddingCache:
    def __init__(self, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / CACHE_FILE
        # isolation_level=None: we open and commit our own transactions
        self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS embedding (key BLOB PRIMARY KEY, vector BLOB NOT NULL) WITHOUT ROWID")

    def get(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        for start in range(0, len(keys), _LOOKUP_CHUNK):
            chunk = keys[start:start + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            for key, vector in self._db.execute(f"SELECT key, vector FROM embedding WHERE key IN ({marks})", chunk):
                found[key] = np.frombuffer(vector, dtype=np.float32)
        return found

    def put(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._db.execute("BEGIN")
        try:
            self._db.executemany("INSERT OR REPLACE INTO embedding (key, vector) VALUES (?, ?)",
                                 zip(keys, (row.tobytes() for row in vectors)))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._db.close()

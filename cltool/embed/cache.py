"""A content-addressed embedding cache: one SQLite file, shared by every run and every dataset.

The key of an embedding is a hash of everything that decides it: the model's weight fingerprint,
the prompt, normalisation, the maximum sequence length, and the text itself. So a re-run on
unchanged data embeds nothing, a partly changed dataset embeds only its new texts, and two
datasets that share texts share their embeddings. Vectors are stored as float32 bytes; the
output precision is applied after the cache.

Delete the file (or the whole CLTOOL_CACHE_DIR) to reclaim the space; nothing else depends on it.

The cache never fails a run. Vectors are committed as they are encoded (a killed run keeps them). A
file that is not a database or is damaged ("database disk image is malformed"), found on opening or
on any later read or write, is set aside beside itself (`embeddings.sqlite.damaged-<time>`, with its
-wal and -shm) and the run goes on with a fresh cache; a cache that cannot be written is read only,
and one that cannot be opened at all is done without; each with a warning naming the file. A cache
another process is writing is waited for (SQLite's busy timeout, then retries), not an error.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from cltool.progress import NullReporter, Reporter

CACHE_FILE = "embeddings.sqlite"
_LOOKUP_CHUNK = 900  # under SQLite's default limit on bound parameters per statement
BUSY_TIMEOUT_S = 30.0  # SQLite's own wait for another connection's lock, per statement
LOCK_WAIT_S = 300.0  # then retries, up to this long in all, before a write is given up (with a warning)
_DAMAGED = {11, 24, 26}  # SQLITE_CORRUPT, SQLITE_FORMAT, SQLITE_NOTADB
_BUSY = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED


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


def _code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def is_damaged(exc: sqlite3.Error) -> bool:
    text = str(exc)
    return _code(exc) in _DAMAGED or "malformed" in text or "not a database" in text


def is_busy(exc: sqlite3.Error) -> bool:
    return _code(exc) in _BUSY or "locked" in str(exc) or "busy" in str(exc)


class EmbeddingCache:
    """The cache file, opened for reading and writing; see the module's docstring for what it does
    when the file is damaged, locked or cannot be written. `warnings` holds what it told `reporter`."""

    def __init__(self, directory: Path, reporter: Reporter | None = None):
        self.directory = Path(directory)
        self.path = self.directory / CACHE_FILE
        self.reporter = reporter if reporter is not None else NullReporter()
        self.warnings: list[str] = []
        self.set_aside: list[Path] = []  # damaged files moved out of the way
        self.writable = True
        self._db: sqlite3.Connection | None = None
        self._inode: int | None = None  # of the file opened: another process may already have replaced it
        self._open()

    @property
    def usable(self) -> bool:
        return self._db is not None

    # -- opening, and what happens when it goes wrong ---------------------------------------------
    def _open(self, after_damage: bool = False) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._without(f"cannot create the embedding cache's folder {self.directory}: {exc.strerror or exc}")
            return
        try:
            self._db = self._retrying(self._connect)
            self.writable = True
        except sqlite3.Error as exc:
            if is_damaged(exc) and not after_damage:
                if self._set_aside(exc):
                    self._open(after_damage=True)
                return
            if is_busy(exc):
                self._without(f"the embedding cache {self.path} stayed locked by another process for "
                              f"{LOCK_WAIT_S:.0f}s")
                return
            self._open_read_only(exc)

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we open and commit our own transactions
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            self._inode = _inode(self.path)
            db.execute("PRAGMA journal_mode=WAL")  # reads the header: a file that is no database fails here
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("CREATE TABLE IF NOT EXISTS embedding (key BLOB PRIMARY KEY, vector BLOB NOT NULL) "
                       "WITHOUT ROWID")
            db.execute("SELECT key FROM embedding LIMIT 1").fetchall()  # the table's first pages
        except BaseException:
            db.close()
            raise
        return db

    def _open_read_only(self, why: sqlite3.Error) -> None:
        """The folder or the file cannot be written: read what is there, if anything."""
        if self.path.is_file():
            try:
                db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S,
                                     isolation_level=None)
                db.execute("SELECT key FROM embedding LIMIT 1").fetchall()
            except sqlite3.Error:
                pass
            else:
                self._db, self.writable = db, False
                self._warn(f"the embedding cache {self.path} cannot be written ({why}): it is only read, and "
                           "what this run encodes is not kept", hint=None)
                return
        self._without(f"cannot open the embedding cache {self.path} ({why})")

    def _without(self, why: str) -> None:
        self._close()
        self._warn(f"{why}; going on without the cache (every text is encoded)",
                   hint="set CLTOOL_CACHE_DIR to a folder you may write, or pass --no-cache")

    def _warn(self, message: str, hint: str | None) -> None:
        message = message + (f" ({hint})" if hint else "")
        self.warnings.append(message)
        self.reporter.warn(message)

    def _set_aside(self, exc: sqlite3.Error) -> bool:
        """Move the damaged file (and its -wal and -shm) aside; False when it cannot be moved (then the
        run goes on without the cache)."""
        self._close()
        opened, self._inode = self._inode, None
        now = _inode(self.path)
        if now is None or (opened is not None and now != opened):
            return True  # another process set it aside (and may have made a fresh one) already
        target = self.path.with_name(f"{self.path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        if target.exists():
            target = target.with_name(f"{target.name}-{os.getpid()}")
        try:
            os.rename(self.path, target)
        except FileNotFoundError:
            return True
        except OSError as error:
            self._without(f"the embedding cache {self.path} is damaged ({exc}) and cannot be set aside "
                          f"({error.strerror or error})")
            return False
        for suffix in ("-wal", "-shm"):
            try:
                os.rename(f"{self.path}{suffix}", f"{target}{suffix}")
            except OSError:
                pass
        self.set_aside.append(target)
        self._warn(f"the embedding cache {self.path} is damaged ({exc}): set aside as {target.name}, going on "
                   f"with a fresh cache", hint=f"delete {target} once you no longer need it")
        return True

    def _damaged_now(self, exc: sqlite3.Error) -> None:
        """Damage found on a read or a write: set the file aside and go on with a fresh one."""
        if self._set_aside(exc):
            self._open(after_damage=True)

    def _retrying(self, work):
        """`work()`, again while another connection holds the lock (beyond SQLite's busy timeout)."""
        deadline = time.monotonic() + LOCK_WAIT_S
        pause = 0.05
        while True:
            try:
                return work()
            except sqlite3.Error as exc:
                if not is_busy(exc) or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 2.0)

    # -- reading and writing ----------------------------------------------------------------------
    def get(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        """The vectors the cache holds for these keys. Damage found here: nothing from this read is
        used (the texts are encoded again) and the file is set aside."""
        if self._db is None:
            return {}
        try:
            return self._retrying(lambda: self._get(keys))
        except sqlite3.Error as exc:
            if is_damaged(exc):
                self._damaged_now(exc)
            elif is_busy(exc):  # waited once: the rest of the run goes without it
                self._without(f"the embedding cache {self.path} stayed locked for {LOCK_WAIT_S:.0f}s: the texts "
                              "not read yet are encoded again")
            else:
                self._without(f"cannot read the embedding cache {self.path} ({exc})")
            return {}

    def _get(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        for start in range(0, len(keys), _LOOKUP_CHUNK):
            chunk = keys[start:start + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            for key, vector in self._db.execute(f"SELECT key, vector FROM embedding WHERE key IN ({marks})", chunk):
                if len(vector) % 4:
                    raise sqlite3.DatabaseError(f"database disk image is malformed (a vector of {len(vector)} "
                                                "bytes)")
                found[key] = np.frombuffer(vector, dtype=np.float32)
        return found

    def put(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        """Store these vectors, committed before it returns. Never raises for the cache's sake: damage
        sets the file aside (and the vectors go into the fresh one), a lock is waited for."""
        if self._db is None or not self.writable:
            return
        rows = list(zip(keys, (row.tobytes() for row in np.ascontiguousarray(vectors, dtype=np.float32))))
        for attempt in range(2):
            try:
                self._retrying(lambda: self._put(rows))
                return
            except sqlite3.Error as exc:
                if is_damaged(exc):
                    if attempt == 0:
                        self._damaged_now(exc)
                        if self._db is not None and self.writable:
                            continue  # into the fresh cache
                    else:
                        self._without(f"the fresh embedding cache {self.path} is damaged too ({exc})")
                elif is_busy(exc):  # waited once: the rest of the run does not wait on every write again
                    self.writable = False
                    self._warn(f"the embedding cache {self.path} stayed locked for {LOCK_WAIT_S:.0f}s: what this run "
                               f"encodes from here on ({len(rows):,} vectors so far) is not kept", hint=None)
                else:
                    self.writable = False
                    self._warn(f"cannot write the embedding cache {self.path} ({exc}): what this run encodes "
                               "from here on is not kept", hint="free some space, or check the folder's permissions")
                return

    def _put(self, rows: list[tuple[bytes, bytes]]) -> None:
        self._db.execute("BEGIN IMMEDIATE")  # takes the write lock now, through the busy timeout
        try:
            self._db.executemany("INSERT OR REPLACE INTO embedding (key, vector) VALUES (?, ?)", rows)
            self._db.execute("COMMIT")
        except BaseException:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise

    def describe(self) -> dict[str, object]:
        """For the manifest: where the cache is, and what went wrong with it in this run."""
        return {"path": str(self.path), "used": self._db is not None, "written": self._db is not None and self.writable,
                **({"set_aside": [str(p) for p in self.set_aside]} if self.set_aside else {}),
                **({"warnings": list(self.warnings)} if self.warnings else {})}

    def _close(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
            self._db = None

    def close(self) -> None:
        self._close()


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None

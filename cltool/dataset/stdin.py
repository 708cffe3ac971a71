"""What a shell pipes in: `-` as an Arrow IPC stream (from another cltool), or JSON lines, CSV or TSV
(optionally gzip-compressed) from `cat`, `zcat`, `jq`, ...

The first bytes tell them apart (`peek` reads them and gives back a stream that still starts with
them); `what_is` names what they are. Text is spooled to a temporary file and read by the readers of
`formats.py`, as a file is (they read twice: once to check every line, once to convert).
"""

from __future__ import annotations

import io
import shutil
import zlib
from pathlib import Path
from typing import IO

PEEK_BYTES = 1 << 16
ARROW_CONTINUATION = b"\xff\xff\xff\xff"  # every message of an Arrow IPC stream starts with it
GZIP_MAGIC = b"\x1f\x8b"

# what_is's answers
ARROW, JSONL, TEXT, GZIP_JSONL, GZIP_TEXT, PARQUET, ARROW_FILE, EMPTY, BINARY = (
    "arrow", "jsonl", "text", "gzip-jsonl", "gzip-text", "parquet", "arrow-file", "empty", "binary")

DESCRIPTION = {
    JSONL: "JSON lines", TEXT: "text (CSV, TSV or other lines)", GZIP_JSONL: "gzip-compressed JSON lines",
    GZIP_TEXT: "gzip-compressed text", PARQUET: "a Parquet file", ARROW_FILE: "an Arrow IPC file (not a stream)",
    EMPTY: "nothing (it is empty)", BINARY: "binary data that is not an Arrow stream",
}


class _Prefixed(io.RawIOBase):
    """`head`, then the rest of `stream`."""

    def __init__(self, head: bytes, stream: IO[bytes]):
        self._head, self._stream = memoryview(head), stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if len(self._head):
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = getattr(self._stream, "read1", self._stream.read)(len(buffer))  # what has arrived
        buffer[:len(data)] = data
        return len(data)


def peek(stream: IO[bytes], size: int = PEEK_BYTES) -> tuple[bytes, IO[bytes]]:
    """The first bytes of `stream` (what had arrived, at least 8 unless it ended sooner, a few KiB
    of a gzip stream, at most `size`), and a stream that reads from its very start. Never waits for
    more than that: a step reading an Arrow stream starts on its schema, not on 64 KiB of it."""
    read = getattr(stream, "read1", stream.read)
    head = b""
    while len(head) < size:
        chunk = read(size - len(head))
        if not chunk:
            break
        head += chunk
        if len(head) >= (4096 if head.startswith(GZIP_MAGIC) else 8):
            break
    return head, io.BufferedReader(_Prefixed(head, stream), buffer_size=1 << 20)


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3  # a character cut by the end of the peek
    return True


def _text_kind(head: bytes) -> str:
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return JSONL if first == b"{" else TEXT


def what_is(head: bytes) -> str:
    """What the first bytes of stdin are: one of ARROW, JSONL, TEXT, GZIP_JSONL, GZIP_TEXT, PARQUET,
    ARROW_FILE, EMPTY, BINARY (BINARY may still be an Arrow stream of the old, unmarked format)."""
    if not head:
        return EMPTY
    if head.startswith(ARROW_CONTINUATION):
        return ARROW
    if head.startswith(GZIP_MAGIC):
        try:
            inner = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, PEEK_BYTES)
        except zlib.error:
            return BINARY
        return GZIP_JSONL if _text_kind(inner) == JSONL else GZIP_TEXT
    if head.startswith(b"PAR1"):
        return PARQUET
    if head.startswith(b"ARROW1"):
        return ARROW_FILE
    if _is_text(head):
        return _text_kind(head)
    return BINARY


def spool(stream: IO[bytes], folder: Path, suffix: str) -> Path:
    """Copy the stream to `folder/stdin{suffix}` (its bytes as they came: .gz stays compressed)."""
    path = folder / f"stdin{suffix}"
    with open(path, "wb") as f:
        shutil.copyfileobj(stream, f, 1 << 20)
    return path

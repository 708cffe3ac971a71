"""BERT's tokenizer (BertPreTokenizer, then WordPiece) for plain text, as one pass over the bytes.

For a static model the tokenizer is nearly all of the encoding: `tokenizers` builds an Encoding
object per text (offsets, word ids, masks) and hands its ids back as a Python list, about 13 µs a
text on these cores even without its normaliser. Here plain texts (ASCII, no control character:
BERT's normaliser would only lowercase them, which the caller does) are split and looked up in
one pass, and only the ids come back.

The rules are HF tokenizers' own (`pre_tokenizers/bert.rs`, `models/wordpiece/mod.rs`): split on
whitespace, every ASCII punctuation character a word of its own; a word longer than
`max_word_chars` is the unknown token; otherwise the longest vocabulary entry from the word's
start, then the longest `prefix`+rest entry from where it ended, and so on; a word with a part no
entry covers is the unknown token as a whole. Truncation keeps a text's first `max_tokens` ids.
"""

from __future__ import annotations

from cltool.kernels import setup  # noqa: F401  (first: before Numba is imported)

import numpy as np
from numba import njit

_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)
_EMPTY = -1


@njit(cache=True, nogil=True, inline="always")
def _mix(state, byte):
    return (state ^ np.uint64(byte)) * _FNV_PRIME


@njit(cache=True, nogil=True)
def vocabulary_table(keys, key_bounds):
    """An open-addressing hash table over the vocabulary's entries (`keys[key_bounds[i]:key_bounds[i + 1]]`,
    UTF-8): slot -> entry index, or -1. Twice as many slots as entries, rounded up to a power of two."""
    size = 1
    while size < 2 * (len(key_bounds) - 1):
        size *= 2
    slots = np.full(size, _EMPTY, dtype=np.int64)
    mask = np.uint64(size - 1)
    for entry in range(len(key_bounds) - 1):
        state = _FNV_OFFSET
        for i in range(key_bounds[entry], key_bounds[entry + 1]):
            state = _mix(state, keys[i])
        slot = np.int64(state & mask)
        while slots[slot] != _EMPTY:
            slot = (slot + 1) & (size - 1)
        slots[slot] = entry
    return slots


@njit(cache=True, nogil=True)
def _find(data, start, end, prefixed, prefix, prefix_state, keys, key_bounds, slots):
    """The entry equal to (`prefix` if `prefixed`) + data[start:end], or -1."""
    state = prefix_state if prefixed else _FNV_OFFSET
    for i in range(start, end):
        state = _mix(state, data[i])
    size = len(slots)
    slot = np.int64(state & np.uint64(size - 1))
    head = len(prefix) if prefixed else 0
    length = head + end - start
    while True:
        entry = slots[slot]
        if entry == _EMPTY:
            return -1
        first = key_bounds[entry]
        if key_bounds[entry + 1] - first == length:
            same = True
            for i in range(head):
                if keys[first + i] != prefix[i]:
                    same = False
                    break
            if same:
                for i in range(end - start):
                    if keys[first + head + i] != data[start + i]:
                        same = False
                        break
            if same:
                return entry
        slot = (slot + 1) & (size - 1)


@njit(cache=True, nogil=True, inline="always")
def _is_space(byte):
    return byte == 32 or byte == 9 or byte == 10 or byte == 13


@njit(cache=True, nogil=True, inline="always")
def _is_punctuation(byte):
    return (33 <= byte <= 47) or (58 <= byte <= 64) or (91 <= byte <= 96) or (123 <= byte <= 126)


@njit(cache=True, nogil=True, inline="always")
def _is_control(byte):
    return (byte < 32 and not _is_space(byte)) or byte >= 127


@njit(cache=True, nogil=True)
def wordpiece_ids(data, bounds, keys, key_bounds, key_ids, slots, prefix, max_key_bytes, max_word_chars,
                  unknown, max_tokens):
    """Text t is data[bounds[t]:bounds[t + 1]], ASCII, already lowercased where the model lowercases.
    Returns (ids, counts): the texts' ids one after another (int64) and each text's count, -1 for a
    text that is not plain (a control character or a byte above 127: the caller tokenizes it the
    usual way)."""
    texts = len(bounds) - 1
    counts = np.zeros(texts, dtype=np.int64)
    out = np.empty(len(data), dtype=np.int64)  # every id covers at least one byte
    pieces = np.empty(max(1, max_word_chars), dtype=np.int64)  # the unknown token alone needs one
    prefix_state = _FNV_OFFSET
    for i in range(len(prefix)):
        prefix_state = _mix(prefix_state, prefix[i])
    written = 0
    for t in range(texts):
        begin, end = bounds[t], bounds[t + 1]
        plain = True
        for i in range(begin, end):
            if _is_control(data[i]):
                plain = False
                break
        if not plain:
            counts[t] = -1
            continue
        count = 0
        i = begin
        while i < end and count < max_tokens:
            byte = data[i]
            if _is_space(byte):
                i += 1
                continue
            word_end = i + 1
            if not _is_punctuation(byte):
                while word_end < end and not _is_space(data[word_end]) and not _is_punctuation(data[word_end]):
                    word_end += 1
            found = 0
            if word_end - i <= max_word_chars:
                start = i
                while start < word_end:
                    head = len(prefix) if start > i else 0
                    stop = min(word_end, start + max_key_bytes - head)
                    entry = -1
                    while stop > start:
                        entry = _find(data, start, stop, start > i, prefix, prefix_state, keys, key_bounds, slots)
                        if entry >= 0:
                            break
                        stop -= 1
                    if entry < 0:
                        found = 0  # a part no entry covers: the whole word is unknown
                        break
                    pieces[found] = key_ids[entry]
                    found += 1
                    start = stop
            if found == 0:
                pieces[0] = unknown
                found = 1
            for p in range(min(found, max_tokens - count)):
                out[written] = pieces[p]
                written += 1
            count += min(found, max_tokens - count)
            i = word_end
        counts[t] = count
    return out[:written].copy(), counts

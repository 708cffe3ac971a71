"""MinHash near-duplicate kernels: shingling over Arrow's UTF-8 buffers, signatures, LSH banding,
candidate pairs, true-Jaccard verification.

Texts arrive as one UTF-8 byte buffer plus offsets (exactly how Arrow stores a string column), so
no Python object is touched per text. The permutation scheme is datasketch's default since 2.0
("affine32"): the shingle hash is pre-mixed with the MurmurHash3 finalizer, then each permutation
is h -> a*h + b mod 2^32 with odd a. Given the same shingle hashes and the same (a, b), the
signatures equal datasketch's `MinHash(scheme="affine32")` bit for bit (tested).
"""

from __future__ import annotations

from cltool.kernels import setup  # noqa: F401  (first: before Numba is imported)

import numpy as np
from numba import njit, prange

WORD, CHAR = 0, 1
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_MASK32 = np.uint64(0xFFFFFFFF)


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 permutation parameters for (num_perm, seed)."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


@njit(cache=True, nogil=True, inline="always")
def fmix32(h):
    h = np.uint64(h)
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & _MASK32
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & _MASK32
    h ^= h >> np.uint64(16)
    return h


@njit(cache=True, nogil=True, inline="always")
def _is_space(c):
    return c == 32 or (9 <= c <= 13)


@njit(cache=True, nogil=True)
def _span_hash(data, start, end):
    h = _FNV_OFFSET
    for i in range(start, end):
        h = (h ^ np.uint64(data[i])) * _FNV_PRIME
    return h


@njit(cache=True, nogil=True)
def _count_units(data, start, end, mode):
    n = 0
    if mode == WORD:
        in_word = False
        for i in range(start, end):
            space = _is_space(data[i])
            if not space and not in_word:
                n += 1
            in_word = not space
    else:
        for i in range(start, end):
            if (data[i] & 0xC0) != 0x80:
                n += 1
    return n


_CHUNK = 256  # documents per parallel task: scratch buffers are allocated per chunk, not per document


@njit(cache=True, nogil=True)
def _fill_shingles(data, start, end, mode, ngram, ring, out):
    """Hash each unit (word or character) as it is scanned and each n-gram from a ring of the last
    `ngram` unit hashes; write the shingle hashes to `out`; return how many were written."""
    units = 0
    written = 0
    i = start
    while i < end:
        if mode == WORD:
            while i < end and _is_space(data[i]):
                i += 1
            if i >= end:
                break
            j = i
            while j < end and not _is_space(data[j]):
                j += 1
        else:
            j = i + 1
            while j < end and (data[j] & 0xC0) == 0x80:  # continuation bytes of one code point
                j += 1
        ring[units % ngram] = _span_hash(data, i, j)
        units += 1
        if units >= ngram:
            h = _FNV_OFFSET
            for u in range(units - ngram, units):
                h = (h ^ ring[u % ngram]) * _FNV_PRIME
            out[written] = np.uint32((h >> np.uint64(32)) ^ (h & _MASK32))
            written += 1
        i = j
    if 0 < units < ngram:  # a short text is one shingle of all its units
        h = _FNV_OFFSET
        for u in range(units):
            h = (h ^ ring[u]) * _FNV_PRIME
        out[0] = np.uint32((h >> np.uint64(32)) ^ (h & _MASK32))
        written = 1
    return written


@njit(cache=True, nogil=True, parallel=True)
def shingle_sets(data, offsets, ngram, mode):
    """Each text's set of n-gram hashes (uint32), sorted and unique, as CSR (values, offsets).

    A text with fewer than `ngram` units is one shingle of all its units, so short texts still
    compare; an empty text has no shingles. Memory: one uint32 per shingle, counted exactly first.
    """
    n_docs = len(offsets) - 1
    n_chunks = (n_docs + _CHUNK - 1) // _CHUNK
    counts = np.zeros(n_docs, dtype=np.int64)
    for c in prange(n_chunks):
        for d in range(c * _CHUNK, min(n_docs, (c + 1) * _CHUNK)):
            units = _count_units(data, offsets[d], offsets[d + 1], mode)
            counts[d] = max(units - ngram + 1, 1) if units > 0 else 0
    bounds = np.zeros(n_docs + 1, dtype=np.int64)
    bounds[1:] = np.cumsum(counts)
    raw = np.empty(bounds[-1], dtype=np.uint32)
    kept = np.zeros(n_docs, dtype=np.int64)
    for c in prange(n_chunks):
        ring = np.empty(ngram, dtype=np.uint64)
        for d in range(c * _CHUNK, min(n_docs, (c + 1) * _CHUNK)):
            if counts[d] == 0:
                continue
            out = raw[bounds[d]:bounds[d + 1]]
            written = _fill_shingles(data, offsets[d], offsets[d + 1], mode, ngram, ring, out)
            out = out[:written]
            out.sort()
            unique = 1
            for k in range(1, written):
                if out[k] != out[unique - 1]:
                    out[unique] = out[k]
                    unique += 1
            kept[d] = unique
    set_offsets = np.zeros(n_docs + 1, dtype=np.int64)
    set_offsets[1:] = np.cumsum(kept)
    values = np.empty(set_offsets[-1], dtype=np.uint32)
    for d in prange(n_docs):
        values[set_offsets[d]:set_offsets[d + 1]] = raw[bounds[d]:bounds[d] + kept[d]]
    return values, set_offsets


@njit(cache=True, nogil=True, parallel=True)
def signatures(values, offsets, a, b):
    """MinHash signature of each shingle set: (docs, num_perm) uint32; an empty set gives all 2^32-1.

    Permutations outside, shingles inside: each signature slot is a min-reduction over the
    document's (pre-mixed) shingles, which the compiler vectorises (5x the shingle-outer loop).
    """
    n_docs, num_perm = len(offsets) - 1, len(a)
    out = np.empty((n_docs, num_perm), dtype=np.uint32)
    n_chunks = (n_docs + _CHUNK - 1) // _CHUNK
    for c in prange(n_chunks):
        mixed = np.empty(1024, dtype=np.uint32)
        for d in range(c * _CHUNK, min(n_docs, (c + 1) * _CHUNK)):
            n = offsets[d + 1] - offsets[d]
            if n > len(mixed):
                mixed = np.empty(n, dtype=np.uint32)
            for s in range(n):
                mixed[s] = np.uint32(fmix32(values[offsets[d] + s]))
            for k in range(num_perm):
                ak, bk = a[k], b[k]
                best = np.uint32(0xFFFFFFFF)
                for s in range(n):
                    v = np.uint32(ak * mixed[s] + bk)  # only the low 32 bits: the product mod 2^32
                    if v < best:
                        best = v
                out[d, k] = best
    return out


@njit(cache=True, nogil=True, parallel=True)
def band_keys(sig, bands, rows):
    """One 64-bit key per (band, document): documents sharing a key in any band are candidates."""
    n_docs = sig.shape[0]
    keys = np.empty((bands, n_docs), dtype=np.uint64)
    for d in prange(n_docs):
        for band in range(bands):
            h = _FNV_OFFSET ^ np.uint64(band)
            for k in range(band * rows, (band + 1) * rows):
                h = (h ^ np.uint64(sig[d, k])) * _FNV_PRIME
                h ^= h >> np.uint64(29)
            keys[band, d] = h
    return keys


@njit(cache=True, nogil=True)
def bucket_pairs(keys, order, link):
    """Candidate pairs (i < j) of documents that share a key, given the keys' sorting `order`.

    In a bucket, each member is paired with the bucket's first `link` members and its `link`
    predecessors (members in document order): enough to tie every near-duplicate to the document
    that will be kept, without the quadratic cost of a bucket of thousands.
    """
    n = len(order)
    count = 0
    capacity = max(16, n)
    left = np.empty(capacity, dtype=np.int64)
    right = np.empty(capacity, dtype=np.int64)
    start = 0
    while start < n:
        end = start + 1
        while end < n and keys[order[end]] == keys[order[start]]:
            end += 1
        members = np.sort(order[start:end])
        for m in range(1, end - start):
            for p in range(m):
                if p >= link and p < m - link:
                    continue
                if count == capacity:
                    capacity *= 2
                    grown_left = np.empty(capacity, dtype=np.int64)
                    grown_right = np.empty(capacity, dtype=np.int64)
                    grown_left[:count] = left[:count]
                    grown_right[:count] = right[:count]
                    left, right = grown_left, grown_right
                left[count] = members[p]
                right[count] = members[m]
                count += 1
        start = end
    return left[:count], right[:count]


@njit(cache=True, nogil=True, parallel=True)
def jaccard_pairs(values, offsets, left, right):
    """True Jaccard similarity of the shingle sets of each pair (merge of two sorted arrays)."""
    out = np.empty(len(left), dtype=np.float32)
    for p in prange(len(left)):
        i, j = left[p], right[p]
        x, x_end = offsets[i], offsets[i + 1]
        y, y_end = offsets[j], offsets[j + 1]
        size = (x_end - x) + (y_end - y)
        common = 0
        while x < x_end and y < y_end:
            if values[x] == values[y]:
                common += 1
                x += 1
                y += 1
            elif values[x] < values[y]:
                x += 1
            else:
                y += 1
        union = size - common
        out[p] = common / union if union > 0 else 0.0
    return out

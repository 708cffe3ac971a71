"""Near-duplicates by MinHash + LSH, every candidate verified by its true Jaccard similarity.

Signatures, banding and verification are Numba kernels (`cltool.kernels.minhash`); datasketch
serves twice: its `MinHash` is the reference the kernel is tested against, and its LSH parameter
optimiser, re-done here with NumPy and tested to agree, picks bands x rows for the threshold.
datasketch's own index is not used: it holds one
Python object per document (the memory users report in datasketch #207), returns no scores, and
does no verification.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from cltool.errors import UsageError

# LSH is tuned to miss few true pairs: a false candidate costs one Jaccard check, a missed pair is
# a duplicate left in the data.
FALSE_POSITIVE_WEIGHT, FALSE_NEGATIVE_WEIGHT = 0.02, 0.98
BUCKET_LINK = 32
REPORTED_SIMILARITIES = (0.5, 0.7, 0.8, 0.9)



@dataclass
class LshParams:
    bands: int
    rows: int

    def catch_probability(self, jaccard: float) -> float:
        return 1.0 - (1.0 - jaccard ** self.rows) ** self.bands

    def describe(self) -> dict:
        return {"bands": self.bands, "rows": self.rows,
                "catch_probability": {str(s): round(self.catch_probability(s), 4) for s in REPORTED_SIMILARITIES}}


def optimal_bands_rows(threshold: float, num_perm: int, false_positive_weight: float,
                       false_negative_weight: float) -> tuple[int, int]:
    """datasketch's LSH parameter optimiser (`datasketch.lsh._optimal_param`), vectorised with NumPy.

    The same search: over every (bands, rows) with bands x rows <= num_perm, minimise the weighted
    area of false positives (below the threshold) and false negatives (above it) under the
    S-curve 1 - (1 - s^rows)^bands. datasketch integrates each with scipy's quad, which costs
    importing scipy (~0.75 s, more than the whole MinHash pass on 20k documents); here the
    integrals are Simpson's rule on a fine grid, and the choice is tested to match datasketch's.
    """
    pairs = np.array([(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)], dtype=np.float64)
    b, r = pairs[:, :1], pairs[:, 1:]

    def area(lo: float, hi: float, false_negative: bool) -> np.ndarray:
        s = np.linspace(lo, hi, 2001)[None, :]
        caught = 1.0 - (1.0 - s ** r) ** b
        y = 1.0 - caught if false_negative else caught
        h = (hi - lo) / 2000
        return h / 3 * (y[:, 0] + y[:, -1] + 4 * y[:, 1:-1:2].sum(1) + 2 * y[:, 2:-1:2].sum(1))

    error = (false_positive_weight * area(0.0, threshold, False)
             + false_negative_weight * area(threshold, 1.0, True))
    best = int(np.argmin(error))
    return int(pairs[best, 0]), int(pairs[best, 1])


def lsh_params(threshold: float, num_perm: int, bands: int | None = None, rows: int | None = None) -> LshParams:
    if bands is not None or rows is not None:
        if bands is None or rows is None or bands * rows > num_perm or bands < 1 or rows < 1:
            raise UsageError(f"--bands and --rows go together, and bands x rows must be at most --num-perm ({num_perm})")
        return LshParams(bands, rows)
    return LshParams(*optimal_bands_rows(threshold, num_perm, FALSE_POSITIVE_WEIGHT, FALSE_NEGATIVE_WEIGHT))


def utf8_buffers(texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A string array's UTF-8 bytes and offsets as NumPy arrays, without copying the text."""
    if not (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)):
        texts = texts.cast(pa.large_string())
    _, offsets, data = texts.buffers()
    width = np.int64 if pa.types.is_large_string(texts.type) else np.int32
    offsets = np.frombuffer(offsets, dtype=width)[texts.offset:texts.offset + len(texts) + 1].astype(np.int64)
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, dtype=np.uint8)
    return data, np.ascontiguousarray(offsets)


@dataclass
class NearResult:
    removed: np.ndarray  # row positions (into the texts given) that duplicate an earlier kept row
    duplicate_of: np.ndarray  # for each removed row, the position it duplicates
    jaccard: np.ndarray
    candidates: int
    verified: int


def sketch(data: np.ndarray, offsets: np.ndarray, *, ngram: int, char_ngrams: bool, num_perm: int, seed: int,
           params: LshParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Texts (UTF-8 bytes and offsets) to their shingle sets (CSR values, offsets) and LSH band keys
    (bands x texts). Each text's result depends on that text alone, so texts can be sketched in parts."""
    from cltool.kernels.minhash import CHAR, WORD, band_keys, permutations, shingle_sets, signatures

    values, set_offsets = shingle_sets(data, offsets, ngram, CHAR if char_ngrams else WORD)
    a, b = permutations(num_perm, seed)
    keys = band_keys(signatures(values, set_offsets, a, b), params.bands, params.rows)
    return values, set_offsets, keys


def band_pairs(keys: np.ndarray, threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs (left < right, possibly repeated) of texts that share a key in one of the
    bands (rows of `keys`): the LSH buckets, grouped by sorting each band's keys."""
    from cltool.kernels.minhash import bucket_pairs

    if not len(keys):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    # argsort and the Numba kernel both release the GIL, so the bands run in parallel threads
    with ThreadPoolExecutor(max_workers=threads or os.cpu_count() or 1) as pool:
        lefts, rights = zip(*pool.map(lambda band: bucket_pairs(band, np.argsort(band), BUCKET_LINK), keys))
    return np.concatenate(lefts), np.concatenate(rights)


def verify(n: int, values: np.ndarray, set_offsets: np.ndarray, left: np.ndarray, right: np.ndarray,
           threshold: float, reference_rows: int = 0) -> NearResult:
    """The candidate pairs' true Jaccard, and which texts go: each text within `threshold` of an
    earlier kept one (with `reference_rows` R, only pairs of one of the first R and a later text)."""
    from cltool.kernels.minhash import jaccard_pairs
    from cltool.kernels.select import keep_first

    if reference_rows:
        cross = (left < reference_rows) & (right >= reference_rows)
        left, right = left[cross], right[cross]
    pair_ids = np.unique(left.astype(np.int64) * n + right)
    left, right = pair_ids // n, pair_ids % n
    jaccard = jaccard_pairs(values, set_offsets, left, right)
    kept, duplicate_of, score = keep_first(n, left, right, jaccard, np.float32(threshold))
    removed = np.nonzero(~kept)[0]
    return NearResult(removed=removed, duplicate_of=duplicate_of[removed], jaccard=score[removed],
                      candidates=len(left), verified=int((jaccard >= threshold).sum()))


def near_duplicates(texts: pa.Array, *, threshold: float, ngram: int, char_ngrams: bool, num_perm: int, seed: int,
                    params: LshParams, reference_rows: int = 0) -> NearResult:
    """Rows of `texts` (in preference order) whose shingle set has Jaccard >= threshold with an
    earlier kept row. With `reference_rows` R, the first R texts are a reference: only pairs of a
    reference row and a later row count, and every reference row is kept."""
    data, offsets = utf8_buffers(texts)
    values, set_offsets, keys = sketch(data, offsets, ngram=ngram, char_ngrams=char_ngrams, num_perm=num_perm,
                                       seed=seed, params=params)
    del data, offsets
    left, right = band_pairs(keys)
    del keys
    return verify(len(texts), values, set_offsets, left, right, threshold, reference_rows)

"""The arithmetic the pair judges share: a sample of the pool, each row's own cosine, and the share
of the pool that outscores it (the counting is `cltool.kernels.pairs`)."""

from __future__ import annotations

import numpy as np

from cltool.filter.pair_judges.base import Pairs, PairVectors

# how many mismatched pairings each row is compared with: the share's standard error at Q = 0.04 is 0.003
SAMPLE = 4096


def sample(count: int, rng: np.random.Generator) -> np.ndarray:
    """Up to SAMPLE of range(count), sorted; all of them when there are no more."""
    if count <= SAMPLE:
        return np.arange(count, dtype=np.int64)
    return np.sort(rng.choice(count, SAMPLE, replace=False)).astype(np.int64)


CHUNK_ROWS = 4096  # rows scored against the sample at once (a float32 block of CHUNK_ROWS x SAMPLE)


def own_scores(pairs: Pairs, vectors: PairVectors) -> np.ndarray:
    """Each row's anchor-positive cosine; NaN for a row not judged or a vector the input lacks."""
    valid = pairs.row_anchor >= 0
    out = np.full(len(pairs.row_anchor), np.nan, dtype=np.float32)
    a = vectors.anchors[pairs.row_anchor[valid]]
    t = vectors.texts[pairs.row_positive[valid]]
    scores = np.einsum("ij,ij->i", a, t).astype(np.float32)
    scores[~(a.any(axis=1) & t.any(axis=1))] = np.nan
    out[valid] = scores
    return out


def rows_of(offsets: np.ndarray, items: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A CSR over groups, taken for each of `groups` in turn (a CSR over rows)."""
    counts = offsets[groups + 1] - offsets[groups]
    row_offsets = np.zeros(len(groups) + 1, dtype=np.int64)
    row_offsets[1:] = np.cumsum(counts)
    within = np.arange(int(row_offsets[-1]), dtype=np.int64) - np.repeat(row_offsets[:-1], counts)
    return row_offsets, items[np.repeat(offsets[groups], counts) + within].astype(np.int64)


def outscored(query: np.ndarray, query_of_row: np.ndarray, own: np.ndarray, pool: np.ndarray,
              pool_items: np.ndarray, own_offsets: np.ndarray, own_items: np.ndarray,
              row_group: np.ndarray) -> np.ndarray:
    """Per row, the share of the pool (vectors `pool`, ids `pool_items`) that scores above the row's
    own pair against query[query_of_row[row]], leaving out the pool members that are the row's own
    (own_items of its group, row_group[row], in the CSR own_offsets)."""
    from cltool.kernels.pairs import outscored_shares

    shares = np.full(len(own), np.nan, dtype=np.float32)
    judged = np.nonzero(~np.isnan(own))[0]
    for start in range(0, len(judged), CHUNK_ROWS):
        rows = judged[start:start + CHUNK_ROWS]
        scores = query[query_of_row[rows]] @ pool.T
        offsets, items = rows_of(own_offsets, own_items, row_group[rows])
        shares[rows] = outscored_shares(np.ascontiguousarray(scores, dtype=np.float32), own[rows],
                                        pool_items, offsets, items)
    return shares


def with_vectors(items: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Those of `items` (sorted, unique) whose vectors are known (not zeros)."""
    items = np.unique(items[items >= 0])
    return items[vectors[items].any(axis=1)] if len(items) else items

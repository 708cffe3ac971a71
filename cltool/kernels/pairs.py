"""The pair judges' count: how many of a row's mismatched pairings outscore its own pair.

Each row's own score (its anchor with its positive) is compared with its scores against a sample of
the pool (other positives for its anchor, or other anchors for its positive); pool members that are
the row's own (another positive of the same anchor, another anchor of the same positive) are not
mismatched and are left out of both the count and the pool.
"""

from __future__ import annotations

from cltool.kernels import setup  # noqa: F401  (first: before Numba is imported)

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def outscored_shares(scores, own, pool_items, own_offsets, own_items):
    """scores[r, j]: row r against pool member pool_items[j]; own[r]: the row's own score; the row's
    own pool members are own_items[own_offsets[r]:own_offsets[r + 1]]. Returns per row the share of
    the other pool members scoring strictly above own[r] (NaN when none is left, or own is NaN)."""
    rows, width = scores.shape
    shares = np.full(rows, np.nan, dtype=np.float32)
    for r in range(rows):
        mine = own_items[own_offsets[r]:own_offsets[r + 1]]
        above = 0
        pool = 0
        for j in range(width):
            item = pool_items[j]
            skip = False
            for m in mine:
                if m == item:
                    skip = True
                    break
            if skip:
                continue
            pool += 1
            if scores[r, j] > own[r]:
                above += 1
        if pool > 0 and not np.isnan(own[r]):
            shares[r] = above / pool
    return shares

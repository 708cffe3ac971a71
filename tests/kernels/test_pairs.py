"""The pair judges' kernel against a NumPy reference."""

import numpy as np
import pytest

from cltool.kernels.pairs import outscored_shares


def test_outscored_shares_matches_numpy():
    rng = np.random.default_rng(3)
    rows, width = 50, 40
    scores = rng.normal(size=(rows, width)).astype(np.float32)
    own = rng.normal(size=rows).astype(np.float32)
    own[7] = np.nan
    pool = rng.permutation(200)[:width].astype(np.int64)
    mine = [rng.choice(pool, rng.integers(0, 4), replace=False) for _ in range(rows)]
    mine[11] = pool.copy()  # every pool member is the row's own: nothing left to compare with
    offsets = np.concatenate([[0], np.cumsum([len(m) for m in mine])]).astype(np.int64)
    items = np.concatenate(mine).astype(np.int64)
    got = outscored_shares(scores, own, pool, offsets, items)
    for r in range(rows):
        other = ~np.isin(pool, mine[r])
        if np.isnan(own[r]) or not other.any():
            assert np.isnan(got[r])
        else:
            assert got[r] == pytest.approx(float((scores[r][other] > own[r]).mean()), abs=1e-6)

"""Saved candidates (cltool/mine/candidates.py): `mine --save-candidates` then `mine --from-candidates`
chooses what searching again chooses, and refuses a window deeper than was saved or anchors it never saw."""

import pytest

from cltool.errors import InputError, UsageError
from cltool.mine import Settings, mine
from tests.conftest import read_dataset


def test_from_candidates_equals_searching_again(tmp_path, write, random_pairs):
    pairs, docs = random_pairs(2)
    source, corpus = write(tmp_path / "pairs", pairs), write(tmp_path / "docs", docs)
    wide = Settings(num_negatives=3, range_max=60)
    mine(source, str(tmp_path / "first"), wide, corpus=[corpus], save_candidates=str(tmp_path / "cands"))
    for name, settings in (("same", wide), ("strict", Settings(num_negatives=3, range_max=60, relative_margin=0.3,
                                                               range_min=2, near_duplicate=0.7))):
        mine(source, str(tmp_path / f"{name}-reused"), settings, from_candidates=str(tmp_path / "cands"))
        mine(source, str(tmp_path / f"{name}-searched"), settings, corpus=[corpus])
        reused = read_dataset(tmp_path / f"{name}-reused").to_pylist()
        searched = read_dataset(tmp_path / f"{name}-searched").to_pylist()
        assert [r["negative_ids"] for r in reused] == [r["negative_ids"] for r in searched]
        assert [r["negatives"] for r in reused] == [r["negatives"] for r in searched]
    with pytest.raises(UsageError, match="reaches rank 61 but only 60 candidates were saved"):
        mine(source, str(tmp_path / "deeper"), Settings(range_max=61), from_candidates=str(tmp_path / "cands"))
    other = dict(pairs, anchor=[a + " again" for a in pairs["anchor"]])
    with pytest.raises(InputError, match="no saved candidates"):
        mine(write(tmp_path / "other", other), str(tmp_path / "x"), wide, from_candidates=str(tmp_path / "cands"))

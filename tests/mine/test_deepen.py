"""Anchors left short of negatives by the rules are searched again, deeper (cltool/mine/deepen.py):
four times as deep each round, until they have their negatives, reach --max-window, or their window
ends below the deepening floor; as deep as the free memory allows."""

import pytest

from cltool.errors import UsageError
from cltool.mine import Settings, mine
from tests.conftest import read_dataset

TOP_OF_ALL = dict(range_min=0, sampling="top")  # the hardest first, from rank 0: what a rule does is seen


def test_anchors_left_short_by_the_rules_are_searched_deeper(tmp_path, write, random_pairs):
    """A strict margin empties the default window of most anchors: they are searched again, deeper,
    until they have their negatives (or reach --max-window, or their window ends below the median of
    random pairs: deeper is no closer than a random fill); a --range-max the user gives is kept."""
    pairs, docs = random_pairs(seed=11, anchors=120, repeats=0, corpus=400)
    source, corpus = write(tmp_path / "pairs", pairs), write(tmp_path / "docs", docs)
    strict = dict(num_negatives=2, relative_margin=0.3, **TOP_OF_ALL)
    fixed = mine(source, str(tmp_path / "fixed"), Settings(**strict, max_window=0), corpus=[corpus])["summary"]
    grown = mine(source, str(tmp_path / "grown"), Settings(**strict), corpus=[corpus])["summary"]
    kept = mine(source, str(tmp_path / "kept"), Settings(**strict, range_max=30), corpus=[corpus])["summary"]
    assert fixed["anchors_full"] < 90 and "deepened" not in fixed
    assert kept["anchors_full"] == fixed["anchors_full"] and "deepened" not in kept  # the default window: 30
    deepened = grown["deepened"]
    assert deepened["anchors_deepened"] == 120 - fixed["anchors_full"]
    assert [r["depth"] for r in deepened["rounds"]][:2] == [120, 480]  # 4x deeper each round
    assert grown["anchors_full"] + deepened["still_short"] == 120 and grown["anchors_full"] > fixed["anchors_full"]
    # 520 candidates: all were seen, or the window ended at a random text's score
    assert deepened["still_short"] == deepened["still_short_out_of_candidates"] + deepened["still_short_below_floor"]
    assert deepened["still_short_below_floor"] > 0
    assert deepened["floor"] == pytest.approx(grown["calibration"]["deepening_floor"]["threshold"], abs=1e-6)
    rows = read_dataset(tmp_path / "grown").to_pylist()
    assert max(max(r["negative_ranks"], default=0) for r in rows) >= 30  # found below the default window


def test_a_window_larger_than_the_free_memory_is_refused_and_deepening_stops_at_it(tmp_path, monkeypatch, write,
                                                                                  random_pairs):
    """Work an option sizes is checked against the machine's free memory before it starts: an absurd
    -n or --range-max is refused up front; deepening goes as deep as the memory allows, and says so."""
    from cltool import memory
    from cltool.mine.ranked import ranked_bytes

    pairs, docs = random_pairs(seed=11, anchors=120, repeats=0, corpus=400)
    source, corpus = write(tmp_path / "pairs", pairs), write(tmp_path / "docs", docs)
    # as if the machine had room for 120 anchors x 100 candidates, and no more
    monkeypatch.setattr(memory, "available", lambda: int(ranked_bytes(120, 100) / 0.75))
    with pytest.raises(UsageError, match="needs about .* GiB of memory"):
        mine(source, str(tmp_path / "huge"), Settings(range_max=400), corpus=[corpus])
    assert not (tmp_path / "huge").exists()
    summary = mine(source, str(tmp_path / "grown"), Settings(num_negatives=2, relative_margin=0.3),
                   corpus=[corpus])["summary"]
    deepened = summary["deepened"]
    assert deepened["stopped_by_memory"] and deepened["still_short"] > 0
    assert all(r["anchors"] * r["depth"] <= 120 * 100 for r in deepened["rounds"])

"""`--judge lexical` (cltool/filter/judges/lexical.py)."""


import pytest

from cltool.filter import Settings, filter_negatives
from tests.conftest import read_dataset, removed_negatives_of
from tests.filter.conftest import ROWS, mined_table


def test_lexical_removes_a_reworded_positive_for_every_row_of_the_anchor(tmp_path):
    source = mined_table(tmp_path / "mined", ROWS)
    manifest = filter_negatives(source, str(tmp_path / "out"), Settings(judges=("lexical",)))
    out = read_dataset(tmp_path / "out")
    negatives = out.column("negatives").to_pylist()
    assert negatives[0] == negatives[1] == ["reverse a list with xs[::-1]", "lists are mutable"]
    assert out.column("negative_ids").to_pylist()[0] == ["n-reverse a list with xs[::-1]", "n-lists are mutable"]
    assert out.column("negative_scores").to_pylist()[0] == [0.5, 0.5]
    # the long near-copy shares 23 of 25 words: Jaccard 0.92, over the threshold too
    assert negatives[2] == ["a dictionary maps keys to values"]
    assert out.column("lang").to_pylist() == ["en"] * 3  # other columns pass through
    removed = read_dataset(removed_negatives_of(tmp_path / "out"))
    assert sorted(removed.column("negative").to_pylist()) == sorted([ROWS[0]["negatives"][0],
                                                                     ROWS[2]["negatives"][0]])
    assert removed.column("judges").to_pylist() == [["lexical"], ["lexical"]]
    assert all(s >= 0.9 for s in removed.column("lexical_score").to_pylist())
    assert set(removed.column("reason").to_pylist()) == {"false_negative"}
    summary = manifest["summary"]
    assert summary["negatives"] == {"judged": 5, "removed": 2, "kept": 3}  # 5 distinct (anchor, negative)
    assert manifest["rows"] == {"input": 3, "output": 3, "rejected": 0}
    # every kept negative carries the judge's score, parallel to negatives: the best Jaccard with a positive
    lexical = out.column("negative_lexical_scores").to_pylist()
    assert [len(x) for x in lexical] == [len(x) for x in negatives]
    assert lexical[2] == [0.0] and all(0.0 <= v < 0.9 for row in lexical for v in row)
    # {reverse, a, list, with, xs, 1} and {use, sorted, xs, to, sort, a, list} share a, list, xs: 3 of 10 words
    assert lexical[0][0] == pytest.approx(3 / 10)

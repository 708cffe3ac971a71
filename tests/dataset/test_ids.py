"""One id rule (`given_or_derived`), through every step that reads ids: a given id that is null, empty
or only whitespace is missing, and the id derived from the text (`text_id`) is used in its place.
(emit writes no ids: its training files hold texts.)"""

import numpy as np
import pyarrow as pa
import pytest

from cltool.dataset.pairs import given_or_derived, text_id
from cltool.dataset.write import Output
from tests.conftest import read_dataset, rejected_of, removed_negatives_of

MISSING = ("", None, "  ")  # each counts as no id


def test_a_null_empty_or_blank_given_id_is_missing_and_any_other_is_kept_as_given():
    texts = ["a", "b", "c", "d", "e", "  ", None]
    given = ["", None, " \t", "x7", " x7", "", "y"]
    assert given_or_derived(given, texts) == [text_id("a"), text_id("b"), text_id("c"), "x7", " x7", None, "y"]
    assert given_or_derived(None, ["a", "", None]) == [text_id("a"), None, None]  # a blank text has no id
    assert given_or_derived([7, None], ["a", "b"]) == ["7", text_id("b")]  # integer ids are kept as text
    assert given_or_derived(["", "z"], ["a", "b"], derived=["ID-a", "ID-b"]) == ["ID-a", "z"]


def _vectors(rows, dim=8, seed=0):
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(rows, dim)).astype(np.float32)
    values /= np.linalg.norm(values, axis=1, keepdims=True)
    return pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), dim)


def _write(path, table):
    with Output(path, command="test", params={}) as out:
        out.write(table)
    return str(path)


def test_ingest_derives_the_missing_ids_of_anchors_positives_negatives_and_corpus_rows(tmp_path):
    from cltool.ingest import Settings, ingest

    table = pa.table({"anchor": ["q1", "q2", "q3", "q4"], "positive": ["p1", "p2", "p3", "p4"],
                      "anchor_id": ["", None, "  ", "a4"], "positive_id": [None, "", "b3", "  "],
                      "negatives": [["n1", "n2", "n3", "n4"]] * 4, "negative_ids": [["", None, "  ", "c4"]] * 4})
    ingest(table, str(tmp_path / "pairs"))
    rows = read_dataset(tmp_path / "pairs").to_pylist()
    assert [r["anchor_id"] for r in rows] == [text_id("q1"), text_id("q2"), text_id("q3"), "a4"]
    assert [r["positive_id"] for r in rows] == [text_id("p1"), text_id("p2"), "b3", text_id("p4")]
    assert rows[0]["negative_ids"] == [text_id("n1"), text_id("n2"), text_id("n3"), "c4"]

    corpus = pa.table({"id": ["", None, "  ", "d4"], "text": ["t1", "t2", "t3", "t4"]})
    ingest(corpus, str(tmp_path / "corpus"), Settings(table="corpus"))
    assert read_dataset(tmp_path / "corpus").column("id").to_pylist() == [text_id("t1"), text_id("t2"),
                                                                          text_id("t3"), "d4"]


@pytest.mark.parametrize("missing", MISSING)
def test_dedup_names_a_kept_row_without_an_id_by_its_derived_id(tmp_path, missing):
    from cltool.dedup import Settings, dedup

    table = pa.table({"positive": ["the same text", "the same text", "other"],
                      "positive_id": pa.array([missing, "kept-2", "o"], pa.string())})
    dedup(table, str(tmp_path / "out"), Settings(methods=("exact",)))
    removed = read_dataset(rejected_of(tmp_path / "out")).to_pylist()
    assert [r["duplicate_of"] for r in removed] == [text_id("the same text")]  # not "", "None" or "  "


def test_mine_uses_the_derived_id_for_pair_and_corpus_candidates_and_for_anchors(tmp_path):
    from cltool.mine import Settings, mine

    anchors, positives = ["q1", "q2", "q3", "q4"], ["p1", "p2", "p3", "p4"]
    pairs = pa.table({"anchor": anchors, "positive": positives,
                      "anchor_id": pa.array(["", None, "  ", "a4"], pa.string()),
                      "positive_id": pa.array(["", None, "  ", "b4"], pa.string()),
                      "anchor_embedding": _vectors(4, seed=1), "positive_embedding": _vectors(4, seed=2)})
    corpus = pa.table({"id": pa.array(["", None, "d3"], pa.string()), "text": ["t1", "t2", "t3"],
                       "text_embedding": _vectors(3, seed=3)})
    settings = Settings(num_negatives=6, range_min=0, sampling="top", near_duplicate=None)
    mine(_write(tmp_path / "pairs", pairs), str(tmp_path / "mined"), settings,
         corpus=[_write(tmp_path / "corpus", corpus)], save_candidates=str(tmp_path / "candidates"))
    candidate_id = {**{p: text_id(p) for p in positives[:3]}, "p4": "b4", "t1": text_id("t1"),
                    "t2": text_id("t2"), "t3": "d3"}
    rows = read_dataset(tmp_path / "mined").to_pylist()
    for row in rows:  # every candidate but the row's own positive, each under the id the rule gives it
        assert sorted(row["negatives"]) == sorted(set(candidate_id) - {row["positive"]})
        assert row["negative_ids"] == [candidate_id[n] for n in row["negatives"]]
    saved = read_dataset(tmp_path / "candidates").to_pylist()
    assert {r["anchor"]: r["anchor_id"] for r in saved} == {"q1": text_id("q1"), "q2": text_id("q2"),
                                                            "q3": text_id("q3"), "q4": "a4"}


def test_filter_writes_and_records_the_derived_id_of_a_negative_without_one(tmp_path):
    from cltool.filter import Settings, filter_negatives

    mined = pa.table({"anchor": ["q1", "q2"], "positive": ["the answer to q1", "the answer to q2"],
                      "anchor_id": pa.array(["", None], pa.string()), "positive_id": pa.array(["  ", ""], pa.string()),
                      # q1's second negative is its positive again: the lexical judge removes it
                      "negatives": [["n one", "the answer to q1", "n three"], ["n four", "n five"]],
                      "negative_ids": pa.array([["", None, "  "], ["g4", ""]], pa.list_(pa.string()))})
    filter_negatives(mined, str(tmp_path / "out"), Settings(judges=("lexical",)))
    rows = read_dataset(tmp_path / "out").to_pylist()
    assert rows[0]["negatives"] == ["n one", "n three"]
    assert rows[0]["negative_ids"] == [text_id("n one"), text_id("n three")]
    assert rows[1]["negative_ids"] == ["g4", text_id("n five")]
    removed = read_dataset(removed_negatives_of(tmp_path / "out")).to_pylist()
    assert [(r["negative"], r["negative_id"]) for r in removed] == [("the answer to q1", text_id("the answer to q1"))]


@pytest.mark.parametrize("missing", MISSING)
def test_filter_reads_dedups_links_by_the_same_rule(tmp_path, missing):
    """--clusters-from: a removed row of a dedup output without an id is linked by its derived id, the
    one filter gives a negative without one; its raw "" would link nothing."""
    from cltool.dataset.write import with_rejection
    from cltool.filter import Settings, filter_negatives

    copy = "a rewritten story about the sea"
    with Output(tmp_path / "deduped", command="dedup", params={}) as out:
        out.write(pa.table({"id": ["c1"], "text": ["the story of the sea"]}))
        out.reject(with_rejection(pa.table({"id": pa.array([missing], pa.string()), "text": [copy]}),
                                  reason=["near_duplicate"], detail=[""], duplicate_of=["c1"]))
    mined = pa.table({"anchor": ["a story"], "positive": ["the story of the sea"], "positive_id": ["c1"],
                      "negatives": [[copy, "other text"]],
                      "negative_ids": pa.array([[missing, "c3"]], pa.list_(pa.string()))})
    filter_negatives(mined, str(tmp_path / "out"), Settings(judges=("duplicate-cluster",),
                                                            judge_options={"clusters_from": str(tmp_path / "deduped")}))
    assert read_dataset(tmp_path / "out").column("negative_ids").to_pylist() == [["c3"]]


def test_validate_does_not_take_two_missing_ids_for_one(tmp_path):
    from cltool.validate import validate

    table = pa.table({"anchor": ["q1", "q2"], "positive": ["p1", "p2"],
                      "positive_id": pa.array(["", None], pa.string()),
                      "negatives": [["n1"], ["n2", "p2"]],
                      "negative_ids": pa.array([[""], ["  ", None]], pa.list_(pa.string()))})
    report = validate(table)
    check = next(c for c in report["checks"] if c["name"] == "positive_in_negatives")
    # q2's "p2" is its positive (by text and by derived id); q1's "" id is no one's id, so n1 is no positive
    assert check["value"] == 1 and check["examples"][0]["negative"] == "p2"
    assert check["examples"][0]["negative_id"] == text_id("p2")

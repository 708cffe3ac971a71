import pyarrow as pa
import pytest

from cltool.dataset.pairs import text_id
from cltool.errors import InputError, UsageError
from cltool.ingest.canonical import (
    canonicalize_corpus,
    canonicalize_pairs,
    corpus_layout,
    pairs_layout,
    parse_column_overrides,
)


def canonical(table, **overrides):
    return canonicalize_pairs(table, pairs_layout(table.schema, "t", overrides))


def test_aliases_layout_and_passthrough_order():
    t = pa.table({"extra": [1], "question": ["q"], "answer": ["a"], "qid": [7]})
    c = canonical(t)
    assert c.kept.column_names == ["anchor", "positive", "anchor_id", "positive_id", "extra"]
    assert c.kept.to_pylist()[0] == {"anchor": "q", "positive": "a", "anchor_id": "7", "positive_id": text_id("a"),
                                     "extra": 1}


def test_list_of_positives_spreads_to_rows_and_empty_lists_are_rejected():
    t = pa.table({"query": ["q1", "q2", "q3"], "pos": [["a", "b"], [], ["c"]], "pos_scores": [[0.9, 0.8], [], [0.5]],
                  "neg": [["n1", " ", None], ["n2"], []]})
    c = canonical(t)
    assert c.rows_in == 4
    assert c.kept.column("positive").to_pylist() == ["a", "b", "c"]
    assert c.kept.column("anchor").to_pylist() == ["q1", "q1", "q3"]
    assert c.kept.column("positive_score").to_pylist() == pytest.approx([0.9, 0.8, 0.5])
    assert c.kept.column("negatives").to_pylist() == [["n1"], ["n1"], []]
    assert c.kept.column("negative_ids").to_pylist() == [[text_id("n1")]] * 2 + [[]]
    assert c.dropped_blank_negatives == 4
    assert c.rejected.column("reason").to_pylist() == ["empty_text"]
    assert c.rejected.column("detail").to_pylist() == ["positive is null or blank"]


def test_sentence_transformers_negative_columns_become_a_list():
    t = pa.table({"anchor": ["a"], "positive": ["p"], "negative_1": ["n1"], "negative_2": ["n2"], "negative_3": [None]})
    c = canonical(t)
    assert c.kept.column("negatives").to_pylist() == [["n1", "n2"]]
    assert "negative_1" not in c.kept.column_names


def test_given_negative_ids_and_scores_stay_aligned_when_blanks_go():
    t = pa.table({"anchor": ["a"], "positive": ["p"], "negatives": [["n1", "", "n3"]],
                  "negative_ids": [["i1", "i2", None]], "negative_scores": [[0.3, 0.2, 0.1]]})
    row = canonical(t).kept.to_pylist()[0]
    assert row["negatives"] == ["n1", "n3"]
    assert row["negative_ids"] == ["i1", text_id("n3")]
    assert row["negative_scores"] == pytest.approx([0.3, 0.1])


def test_blank_anchor_and_positive_are_rejected_with_detail():
    t = pa.table({"anchor": ["ok", " ", None], "positive": ["p", "p", ""]})
    c = canonical(t)
    assert c.kept.num_rows == 1
    assert c.rejected.column("detail").to_pylist() == ["anchor is null or blank", "anchor and positive is null or blank"]


def test_missing_column_names_what_was_found_and_the_aliases():
    with pytest.raises(InputError) as err:
        pairs_layout(pa.schema([("q", pa.string()), ("positive", pa.string())]), "f.jsonl")
    assert "no anchor column" in err.value.message and "columns found: q, positive" in err.value.message
    assert "query" in err.value.hint and "--column anchor=" in err.value.hint


def test_wrong_types_are_refused():
    with pytest.raises(InputError, match="must be text, found int64"):
        pairs_layout(pa.schema([("anchor", pa.int64()), ("positive", pa.string())]), "f")
    with pytest.raises(InputError, match="must be text or a list of texts"):
        pairs_layout(pa.schema([("anchor", pa.string()), ("positive", pa.float64())]), "f")


def test_overrides():
    assert parse_column_overrides(["anchor=title"], ["anchor", "positive"]) == {"anchor": "title"}
    with pytest.raises(UsageError):
        parse_column_overrides(["bogus=title"], ["anchor", "positive"])
    t = pa.table({"title": ["t"], "abstract": ["a"]})
    c = canonical(t, anchor="title", positive="abstract")
    assert c.kept.column("anchor").to_pylist() == ["t"]


def test_corpus_table():
    t = pa.table({"_id": ["d1", "d2"], "text": ["doc", ""], "title": ["T", "U"]})
    c = canonicalize_corpus(t, corpus_layout(t.schema, "c"))
    assert c.kept.to_pylist() == [{"id": "d1", "text": "doc", "title": "T"}]
    assert c.rejected.column("reason").to_pylist() == ["empty_text"]


def test_an_empty_batch_of_list_positives():
    t = pa.table({"anchor": pa.array([], pa.string()), "positive": pa.array([], pa.list_(pa.string()))})
    c = canonical(t)
    assert c.kept.num_rows == 0 and c.kept.column_names[:4] == ["anchor", "positive", "anchor_id", "positive_id"]
    assert c.kept.schema.field("positive").type == pa.string()

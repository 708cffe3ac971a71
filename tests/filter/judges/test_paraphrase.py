"""`--judge paraphrase[:MODEL]` (cltool/filter/judges/paraphrase.py)."""


import pytest

from cltool.filter import Settings, filter_negatives
from tests.conftest import read_dataset, removed_negatives_of
from tests.filter.conftest import mined_table


def test_paraphrase_judge_flags_a_paraphrase_of_a_positive_and_reads_the_embedding_cache(tmp_path, monkeypatch):
    """The paraphrase judge catches a reworded positive that shares few words with it (lexical and
    MinHash cannot), using texts the embedding cache already holds. (One anchor's texts are too few
    to read a threshold off: the rule itself, with a cosine.)"""
    monkeypatch.setenv("CLTOOL_CACHE_DIR", str(tmp_path / "cache"))
    rows = [{"anchor": "how can I sort a python list",
             "positive": "Use the built-in sorted function to put the items of a list in order.",
             "negatives": ["To order a list's elements, call sorted() on it.",
                           "The weather in Paris is mild in spring."]}]
    source = mined_table(tmp_path / "mined", rows)
    judges = Settings(judges=("paraphrase", "lexical", "duplicate-cluster"),
                      judge_options={"paraphrase_threshold": 0.5})
    first = filter_negatives(source, str(tmp_path / "out"), judges, cache_dir=tmp_path / "cache")
    assert read_dataset(tmp_path / "out").column("negatives").to_pylist() == [[rows[0]["negatives"][1]]]
    assert first["summary"]["flagged_by_judge"] == {"paraphrase": 1, "lexical": 0, "duplicate-cluster": 0}
    removed = read_dataset(removed_negatives_of(tmp_path / "out")).to_pylist()[0]
    assert removed["paraphrase_score"] >= 0.6 and removed["judges"] == ["paraphrase"]
    # what it was compared with is the threshold, and named so (it was paraphrase_positive_score)
    assert removed["paraphrase_threshold"] == 0.5 and "paraphrase_positive_score" not in removed
    assert removed["detail"] == f"paraphrase: cosine {removed['paraphrase_score']:.4f} with a positive, at or above " \
                                "the threshold 0.5000"
    kept = read_dataset(tmp_path / "out").to_pylist()[0]  # the kept negative's cosine to the positive, recorded
    assert len(kept["negative_paraphrase_scores"]) == 1 and kept["negative_paraphrase_scores"][0] < 0.5
    assert kept["negative_lexical_scores"][0] < 0.9 and "negative_duplicate_cluster_scores" not in kept
    # the texts are now in the cache: a second run loads no model
    import cltool.embed.model as model

    monkeypatch.setattr(model.ModelSpec, "load", lambda *a, **k: pytest.fail("the model was loaded again"))
    filter_negatives(source, str(tmp_path / "again"), Settings(judges=("paraphrase",),
                                                               judge_options={"paraphrase_threshold": 0.5}),
                     cache_dir=tmp_path / "cache")
    assert read_dataset(tmp_path / "again").column("negatives").to_pylist() == [[rows[0]["negatives"][1]]]

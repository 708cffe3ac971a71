"""`--judge bi-encoder[:MODEL]` (cltool/filter/judges/bi_encoder.py) with the bundled MiniLM."""



from cltool.filter import Settings, filter_negatives
from tests.conftest import read_dataset, removed_negatives_of
from tests.filter.conftest import mined_table


def test_bi_encoder_judge_with_the_bundled_model_flags_a_paraphrase(tmp_path):
    rows = [{"anchor": "how can I sort a python list", "positive": "Use the sorted function to sort a list.",
             "negatives": ["To sort a list, use the sorted function.", "The weather in Paris is mild in spring."]}]
    source = mined_table(tmp_path / "mined", rows)
    manifest = filter_negatives(source, str(tmp_path / "out"), Settings(judges=("bi-encoder",),
                                                                        judge_options={"ratio": 0.9}))
    assert read_dataset(tmp_path / "out").column("negatives").to_pylist() == [[rows[0]["negatives"][1]]]
    removed = read_dataset(removed_negatives_of(tmp_path / "out"))
    score, positive = removed.column("bi_encoder_score")[0].as_py(), removed.column("bi_encoder_positive_score")[0]
    assert score >= 0.9 * positive.as_py()
    assert manifest["params"]["judge_models"]["bi-encoder"]["model_id"] == "sentence-transformers/all-MiniLM-L6-v2"

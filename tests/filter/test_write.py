"""Filter's second pass (cltool/filter/write.py): the judges' score columns."""



from cltool.filter import Settings, filter_negatives
from tests.conftest import read_dataset
from tests.filter.conftest import ROWS, mined_table


def test_judge_scores_follow_a_second_filter_and_refer_to_its_negatives(tmp_path):
    source = mined_table(tmp_path / "mined", ROWS)
    filter_negatives(source, str(tmp_path / "loose"), Settings(judges=("lexical",),
                                                               judge_options={"lexical_threshold": 1.0}))
    loose = read_dataset(tmp_path / "loose")
    assert loose.column("negative_lexical_scores").to_pylist()[2][0] > 0.9  # the long near-copy, kept at 1.0
    filter_negatives(str(tmp_path / "loose"), str(tmp_path / "strict"), Settings(judges=("lexical",)))
    strict = read_dataset(tmp_path / "strict")
    assert strict.column("negatives").to_pylist()[2] == ["a dictionary maps keys to values"]
    assert strict.column("negative_lexical_scores").to_pylist()[2] == [0.0]  # rewritten, not the old column

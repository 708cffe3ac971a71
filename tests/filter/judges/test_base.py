"""What every judge declares (cltool/filter/judges/base.py)."""





def test_every_scoring_judge_declares_its_own_column_that_emit_and_inspect_read():
    """A judge names its score column itself (no list in the data contract): each is its own, a list
    parallel to `negatives` as the contract names them, and what emit and inspect read."""
    from cltool.filter.judges import JUDGES, score_columns
    from cltool.inspect.describe import score_columns as inspected

    columns = [j.score_column for j in JUDGES.values() if j.score_column]
    assert len(columns) == len(set(columns)) >= 4
    assert all(c.startswith("negative_") and c.endswith("_scores") for c in columns)
    assert score_columns() == tuple(columns)
    assert set(columns) <= set(inspected())

"""`filter_negatives` and `cltool filter` end to end (cltool/filter/run.py): the rows accounted for,
bad input refused, an Arrow table filtered as its dataset is."""


import pyarrow as pa

from cltool.dataset.write import Output
from cltool.filter import Settings, filter_negatives
from tests.conftest import read_dataset, rejected_of, removed_negatives_of, run_cltool
from tests.filter.conftest import ROWS, mined_table


def test_anchors_left_short_go_to_rejected_and_the_counts_add_up(tmp_path):
    source = mined_table(tmp_path / "mined", ROWS)
    manifest = filter_negatives(source, str(tmp_path / "out"), Settings(judges=("lexical",), min_negatives=2))
    assert manifest["rows"] == {"input": 3, "output": 2, "rejected": 1}
    rejected = read_dataset(rejected_of(tmp_path / "out"))
    assert rejected.column("reason").to_pylist() == ["too_few_negatives"]
    assert rejected.column("anchor").to_pylist() == ["tell me a story"]
    assert "1 negatives left" in rejected.column("detail").to_pylist()[0]


def test_cli_refuses_a_table_without_negatives_and_a_cross_encoder_it_cannot_load(tmp_path):
    plain = tmp_path / "plain"
    with Output(plain, command="test", params={}) as out:
        out.write(pa.table({"anchor": ["a"], "positive": ["b"]}))
    run = run_cltool("filter", str(plain), "-o", str(tmp_path / "out"))
    assert run.returncode == 2 and "cltool mine" in run.stderr.decode()
    source = mined_table(tmp_path / "mined", ROWS)
    run = run_cltool("filter", source, "-o", str(tmp_path / "out"), "--judge", "cross-encoder:no-such/reranker")
    err = run.stderr.decode()
    assert run.returncode == 2 and "no-such/reranker" in err and "tried" in err
    assert not (tmp_path / "out").exists()
    run = run_cltool("filter", source, "-o", str(tmp_path / "out"), "--judge", "cross-encoder:default")
    assert run.returncode == 2 and "not a cross-encoder" in run.stderr.decode()  # the bundled bi-encoder


def test_an_arrow_table_is_filtered_as_its_dataset_is(tmp_path):
    source = mined_table(tmp_path / "mined", ROWS)
    settings = Settings(judges=("lexical", "duplicate-cluster"), min_negatives=2)
    from_path = filter_negatives(source, str(tmp_path / "path"), settings)
    from_table = filter_negatives(read_dataset(tmp_path / "mined"), str(tmp_path / "table"), settings)
    for part in (lambda p: p, rejected_of, removed_negatives_of):
        assert read_dataset(part(tmp_path / "table")).equals(read_dataset(part(tmp_path / "path")))
    assert from_table["summary"] == from_path["summary"]

import io

import pyarrow as pa

from cltool.ingest import ingest
from cltool.step import Run
from cltool.inspect import inspect_dataset
from tests.conftest import write_jsonl


def test_inspect_reports_schema_rows_manifest_and_rejected(tmp_path, pairs_rows):
    write_jsonl(tmp_path / "p.jsonl", pairs_rows)
    ingest(str(tmp_path / "p.jsonl"), str(tmp_path / "out"), run=Run(argv=["cltool", "ingest", "p.jsonl", "-o", "out"]))
    info = inspect_dataset(str(tmp_path / "out"), head=2)
    assert info["rows"] == 3 and info["files"] == 1
    assert [f["name"] for f in info["schema"]][:4] == ["anchor", "positive", "anchor_id", "positive_id"]
    assert info["manifest"]["command"] == "ingest" and info["manifest"]["argv"][1] == "ingest"
    assert info["manifest"]["rows"] == {"input": 5, "output": 3, "rejected": 2}
    assert info["rows_add_up"] is True
    assert info["rejected"]["by_reason"] == {"empty_text": 2}
    assert [r["anchor"] for r in info["head"]] == ["how do I sort a list", "how do I reverse a list"]
    assert info["lineage"] == ["ingest"]


def test_inspect_a_stream():
    table = pa.table({"a": [1, 2, 3]})
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    info = inspect_dataset("-", head=1, stdin=io.BytesIO(sink.getvalue()))
    assert info["rows"] == 3 and info["head"] == [{"a": 1}]


def test_inspect_gives_score_statistics_for_a_mined_table(tmp_path):
    from cltool.dataset.write import Output

    with Output(tmp_path / "mined", command="mine", params={}) as out:
        out.write(pa.table({"anchor": ["a", "b", "c"], "positive": ["x", "y", "z"],
                            "negatives": [["n1", "n2"], ["n3"], []],
                            "negative_scores": pa.array([[0.5, 0.3], [0.9], []], pa.list_(pa.float32())),
                            "positive_score": pa.array([0.8, 0.7, 0.6], pa.float32())}))
    scores = inspect_dataset(str(tmp_path / "mined"))["scores"]
    assert scores["negative_scores"]["count"] == 3 and scores["negative_scores"]["max"] == 0.9
    assert scores["positive_score"]["median"] == 0.7
    assert scores["negatives_per_row"]["min"] == 0 and scores["negatives_per_row"]["max"] == 2
    assert scores["rows_hardest_negative_above_positive"] == 1  # b: 0.9 > 0.7


def test_score_statistics_skip_null_scores_and_columns_of_another_type(tmp_path):
    from cltool.dataset.write import Output

    with Output(tmp_path / "filtered", command="filter", params={}) as out:  # filter writes null scores
        out.write(pa.table({"anchor": ["a", "b", "c", "d"], "positive": ["x", "y", "z", "w"],
                            "negatives": [["n1", "n2"], ["n3"], [], None],
                            "negative_scores": pa.array([[None, 0.3], [None], [], None], pa.list_(pa.float32())),
                            "positive_score": pa.array([0.2, 0.7, 0.6, None], pa.float32()),
                            "positive_ce_score": ["not", "a", "number", "!"]}))
    scores = inspect_dataset(str(tmp_path / "filtered"))["scores"]
    assert scores["negative_scores"]["count"] == 1 and "positive_ce_score" not in scores
    assert scores["negatives_per_row"]["max"] == 2 and scores["negatives_per_row"]["count"] == 4
    assert scores["rows_hardest_negative_above_positive"] == 1  # a: 0.3 > 0.2; b has only a null score


def test_inspect_describes_an_emitted_training_file_and_its_manifest(tmp_path, chain):
    import json

    from tests.conftest import run_cltool

    for fmt, target in (("n-tuple", tmp_path / "train.jsonl"), ("triplet", tmp_path / "out" / "trip.parquet")):
        made = run_cltool("emit", str(chain / "mined"), "-o", str(target), "--format", fmt, "-q")
        assert made.returncode == 0, made.stderr.decode()
        run = run_cltool("inspect", str(target), "--json", "--head", "1")
        assert run.returncode == 0, run.stderr.decode()
        info = json.loads(run.stdout)
        training = info["training_file"]
        assert training["format"] == fmt and training["pairs"] == 60
        assert info["rows"] == (60 if fmt == "n-tuple" else 120)  # triplet: a line per negative
        assert info["scores"]["negatives_per_row"]["min"] == info["scores"]["negatives_per_row"]["max"] == 2
        assert info["scores"]["anchors"] == 60
        assert info["manifest"]["command"] == "emit" and info["manifest"]["params"]["format"] == fmt
        assert info["manifest_path"] == str(target.with_name(target.name.split(".")[0] + ".manifest.json"))
        assert set(info["head"][0]) == {c["name"] for c in info["schema"]}
        shown = run_cltool("inspect", str(target)).stderr.decode()
        assert f"a training file, {fmt}" in shown and "made by:" in shown and "emit" in shown

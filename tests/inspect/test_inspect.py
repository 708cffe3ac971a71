import io

import pyarrow as pa

from cltool.ingest import ingest
from cltool.inspect import inspect_dataset
from tests.conftest import write_jsonl


def test_inspect_reports_schema_rows_manifest_and_rejected(tmp_path, pairs_rows):
    write_jsonl(tmp_path / "p.jsonl", pairs_rows)
    ingest(str(tmp_path / "p.jsonl"), str(tmp_path / "out"), argv=["cltool", "ingest", "p.jsonl", "-o", "out"])
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

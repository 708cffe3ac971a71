import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cltool.dataset.pairs import text_id
from cltool.errors import InputError
from cltool.ingest import Settings, ingest
from tests.conftest import manifest_of, read_dataset, rejected_of, run_cltool, write_jsonl


@pytest.mark.parametrize("name", ["pairs.jsonl", "pairs.jsonl.gz"])
def test_jsonl(tmp_path, pairs_rows, name):
    src = write_jsonl(tmp_path / name, pairs_rows)
    result = ingest(str(src), str(tmp_path / "out"))
    kept = read_dataset(tmp_path / "out")
    assert kept.column("anchor").to_pylist() == ["how do I sort a list", "how do I reverse a list", "how do I sort a list"]
    assert kept.column("anchor_id").to_pylist()[0] == kept.column("anchor_id").to_pylist()[2] == text_id("how do I sort a list")
    assert kept.column("lang").to_pylist() == ["py"] * 3
    rejected = read_dataset(rejected_of(tmp_path / "out"))
    assert rejected.column("reason").to_pylist() == ["empty_text", "empty_text"]
    assert result["pairs"]["rows"] == {"input": 5, "output": 3, "rejected": 2}
    assert manifest_of(tmp_path / "out")["inputs"][0]["files"][0]["rows"] == 5


def test_csv_and_tsv_keep_ids_as_written(tmp_path):
    (tmp_path / "p.csv").write_text('query_id,question,answer\n007,"what, exactly?","this,\nthat"\n008,q2,a2\n')
    ingest(str(tmp_path / "p.csv"), str(tmp_path / "csv"))
    rows = read_dataset(tmp_path / "csv").to_pylist()
    assert rows[0]["anchor_id"] == "007" and rows[0]["anchor"] == "what, exactly?" and rows[0]["positive"] == "this,\nthat"
    (tmp_path / "p.tsv").write_text('anchor\tpositive\n"quoted" text\tplain\n')
    ingest(str(tmp_path / "p.tsv"), str(tmp_path / "tsv"))
    assert read_dataset(tmp_path / "tsv").column("anchor").to_pylist() == ['"quoted" text']


def test_parquet_and_a_cltool_dataset(tmp_path, pairs_parquet):
    ingest(str(pairs_parquet), str(tmp_path / "a"))
    ingest(str(tmp_path / "a"), str(tmp_path / "b"))
    assert read_dataset(tmp_path / "a").equals(read_dataset(tmp_path / "b"))
    assert [s["command"] for s in manifest_of(tmp_path / "b")["lineage"]] == ["ingest"]


def test_sentence_transformers_triplet_and_ntuple_files(tmp_path):
    t = pa.table({"anchor": ["a1", "a2"], "positive": ["p1", "p2"], "negative_1": ["n1", "n3"], "negative_2": ["n2", None]})
    pq.write_table(t, tmp_path / "ntuple.parquet")
    ingest(str(tmp_path / "ntuple.parquet"), str(tmp_path / "out"))
    assert read_dataset(tmp_path / "out").column("negatives").to_pylist() == [["n1", "n2"], ["n3"]]
    write_jsonl(tmp_path / "triplet.jsonl", [{"anchor": "a", "positive": "p", "negative": "n"}])
    ingest(str(tmp_path / "triplet.jsonl"), str(tmp_path / "trip"))
    assert read_dataset(tmp_path / "trip").column("negatives").to_pylist() == [["n"]]


def test_flagembedding_jsonl(tmp_path):
    write_jsonl(tmp_path / "bge.jsonl", [
        {"query": "q1", "pos": ["p1", "p2"], "neg": ["n1", "n2"], "pos_scores": [0.9, 0.8], "neg_scores": [0.2, 0.1],
         "prompt": "Represent this: ", "type": "normal"},
        {"query": "q2", "pos": ["p3"], "neg": [], "pos_scores": [0.7], "neg_scores": [], "prompt": "Represent this: ",
         "type": "normal"},
    ])
    ingest(str(tmp_path / "bge.jsonl"), str(tmp_path / "out"))
    rows = read_dataset(tmp_path / "out").to_pylist()
    assert [(r["anchor"], r["positive"]) for r in rows] == [("q1", "p1"), ("q1", "p2"), ("q2", "p3")]
    assert rows[1]["positive_score"] == pytest.approx(0.8)
    assert rows[0]["negatives"] == ["n1", "n2"] and rows[0]["negative_scores"] == pytest.approx([0.2, 0.1])
    assert rows[0]["prompt"] == "Represent this: " and rows[2]["negatives"] == []


def test_a_table_in_memory_is_an_input(tmp_path):
    """A library caller hands ingest an Arrow table (aliases and all) without writing a file first."""
    table = pa.table({"query": ["how do I sort a list", " "], "pos": [["use sorted(xs)", "call xs.sort()"], ["x"]]})
    manifest = ingest(table, str(tmp_path / "out"))["pairs"]
    out = read_dataset(tmp_path / "out")
    assert out.column("positive").to_pylist() == ["use sorted(xs)", "call xs.sort()"]
    assert manifest["rows"] == {"input": 3, "output": 2, "rejected": 1}
    assert manifest["inputs"][0]["files"] == [{"path": "<arrow table>", "rows": 2}]


def test_corpus_table(tmp_path):
    write_jsonl(tmp_path / "c.jsonl", [{"doc_id": 1, "passage": "one"}, {"doc_id": 2, "passage": " "}])
    result = ingest(str(tmp_path / "c.jsonl"), str(tmp_path / "out"), Settings(table="corpus"))
    assert read_dataset(tmp_path / "out").to_pylist() == [{"id": "1", "text": "one"}]
    assert result["corpus"]["rejected_by_reason"] == {"empty_text": 1}


@pytest.mark.parametrize("content, message", [
    ('{"anchor": "a", "positive": "p"}\n{"anchor": "b", "positive": \n', r"bad.jsonl, line 2: not valid JSON"),
    ('{"anchor": "a", "positive": "p"}\n["a", "p"]\n', r"line 2: a JSON list, not an object"),
    ('{"anchor": "a", "positive": "p"}\n{"anchor": 5, "positive": "p"}\n', r"line 2: 'anchor' is a number, expected text"),
    ('{"anchor": "a", "text": "p"}\n', r"no positive column; columns found: anchor, text"),
    ("\n\n", r"is empty"),
])
def test_bad_jsonl_is_named_precisely_and_writes_nothing(tmp_path, content, message):
    (tmp_path / "bad.jsonl").write_text(content)
    with pytest.raises(InputError, match=message):
        ingest(str(tmp_path / "bad.jsonl"), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.jsonl"]


def test_mixed_passthrough_values_are_kept_as_json_text(tmp_path):
    write_jsonl(tmp_path / "m.jsonl", [{"anchor": "a", "positive": "p", "meta": {"k": 1}},
                                       {"anchor": "b", "positive": "q", "meta": 3}])
    ingest(str(tmp_path / "m.jsonl"), str(tmp_path / "out"))
    assert read_dataset(tmp_path / "out").column("meta").to_pylist() == ['{"k": 1}', "3"]


def test_empty_csv_and_unknown_extension(tmp_path):
    (tmp_path / "e.csv").write_text("anchor,positive\n")
    with pytest.raises(InputError, match="has a header but no rows"):
        ingest(str(tmp_path / "e.csv"), str(tmp_path / "out"))
    (tmp_path / "x.data").write_text("a")
    with pytest.raises(InputError, match="cannot tell the format"):
        ingest(str(tmp_path / "x.data"), str(tmp_path / "out"))


def test_jsonl_keys_whose_values_vary_in_kind(tmp_path):
    write_jsonl(tmp_path / "v.jsonl", [
        {"query": "q1", "pos": ["a", "b"], "qid": 1, "big": 1},
        {"query": "q2", "pos": "c", "qid": "abc", "big": 2**70},
    ])
    ingest(str(tmp_path / "v.jsonl"), str(tmp_path / "out"))
    rows = read_dataset(tmp_path / "out").to_pylist()
    assert [r["positive"] for r in rows] == ["a", "b", "c"]  # a lone string among lists is one positive
    assert [r["anchor_id"] for r in rows] == ["1", "1", "abc"]  # strings stay as written, never JSON-quoted
    assert [r["big"] for r in rows] == ["1", "1", str(2**70)]  # too big for int64: kept as its digits


def test_a_chosen_column_never_overwrites_or_loses_another(tmp_path):
    write_jsonl(tmp_path / "c.jsonl", [{"title": "T", "anchor": "A", "positive": "", "reason": "mine"}])
    ingest(str(tmp_path / "c.jsonl"), str(tmp_path / "out"), Settings(columns={"anchor": "title"}))
    row = read_dataset(rejected_of(tmp_path / "out")).to_pylist()[0]
    assert row["anchor"] == "T" and row["anchor_id"] == text_id("T")
    assert row["input_anchor"] == "A" and row["input_reason"] == "mine" and row["reason"] == "empty_text"


def test_scores_from_csv_text_are_parsed_and_bad_ones_refused(tmp_path):
    (tmp_path / "s.csv").write_text("anchor,positive,positive_score\na,p,0.5\nb,q,\n")
    ingest(str(tmp_path / "s.csv"), str(tmp_path / "out"))
    assert read_dataset(tmp_path / "out").column("positive_score").to_pylist() == [0.5, None]
    (tmp_path / "bad.csv").write_text("anchor,positive,positive_score\na,p,high\n")
    with pytest.raises(InputError, match="'positive_score' holds a value that is not a number"):
        ingest(str(tmp_path / "bad.csv"), str(tmp_path / "bad"))
    write_jsonl(tmp_path / "l.jsonl", [{"anchor": "a", "positive": "p", "pos_scores": [0.1]}])
    with pytest.raises(InputError, match="must be a number"):
        ingest(str(tmp_path / "l.jsonl"), str(tmp_path / "l"))


def test_a_text_negatives_column_is_one_negative_and_ids_without_negatives_pass_through(tmp_path):
    write_jsonl(tmp_path / "n.jsonl", [{"anchor": "a", "positive": "p", "neg": "n1", "negative_2": "n2"}])
    ingest(str(tmp_path / "n.jsonl"), str(tmp_path / "out"))
    assert read_dataset(tmp_path / "out").column("negatives").to_pylist() == [["n1", "n2"]]
    write_jsonl(tmp_path / "i.jsonl", [{"anchor": "a", "positive": "p", "negative_ids": ["x"]}])
    ingest(str(tmp_path / "i.jsonl"), str(tmp_path / "ids"))
    assert read_dataset(tmp_path / "ids").to_pylist()[0]["negative_ids"] == ["x"]


# -- `-`: what shells pipe in ---------------------------------------------------------------------
PIPED_ROWS = [{"anchor": "how do I sort a list", "positive": "use sorted(xs), it returns a new list"},
              {"anchor": "how do I reverse a list", "positive": "use xs[::-1]"},
              {"anchor": " ", "positive": "an orphan"}]


def _jsonl_bytes(rows=PIPED_ROWS) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def _csv_bytes(delimiter: str) -> bytes:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n",
                        quoting=csv.QUOTE_MINIMAL if delimiter == "," else csv.QUOTE_NONE)
    writer.writerow(["anchor", "positive"])
    writer.writerows([r["anchor"], r["positive"]] for r in PIPED_ROWS)
    return out.getvalue().encode()


def _arrow_stream(tmp_path) -> bytes:
    write_jsonl(tmp_path / "src.jsonl", PIPED_ROWS)
    made = run_cltool("ingest", str(tmp_path / "src.jsonl"), "-o", "-", "-q")
    assert made.returncode == 0, made.stderr.decode()
    return made.stdout


@pytest.mark.parametrize("what, flags", [
    ("jsonl", []), ("jsonl", ["-f", "jsonl"]), ("jsonl.gz", []), ("jsonl.gz", ["-f", "jsonl"]),
    ("csv", ["-f", "csv"]), ("tsv", ["-f", "tsv"]), ("arrow", []), ("arrow", ["-f", "parquet"]),
])
def test_stdin_takes_what_shells_carry(tmp_path, what, flags):
    """`cat pairs.jsonl | cltool ingest - -o DIR` and its kin, through a real pipe into a real process."""
    piped = {"jsonl": _jsonl_bytes, "jsonl.gz": lambda: gzip.compress(_jsonl_bytes()),
             "csv": lambda: _csv_bytes(","), "tsv": lambda: _csv_bytes("\t"),
             "arrow": lambda: _arrow_stream(tmp_path)}[what]()
    run = run_cltool("ingest", "-", *flags, "-o", str(tmp_path / "out"), stdin=piped)
    assert run.returncode == 0, run.stderr.decode()
    kept = read_dataset(tmp_path / "out")
    assert kept.column("anchor").to_pylist() == ["how do I sort a list", "how do I reverse a list"]
    assert kept.column("positive").to_pylist()[0] == "use sorted(xs), it returns a new list"
    manifest = manifest_of(tmp_path / "out")
    assert manifest["inputs"][0]["source"] == "-" and manifest["inputs"][0]["files"][0]["path"] == "-"
    if what != "arrow":  # the blank anchor was rejected by the ingest that wrote the stream
        assert manifest["rows"] == {"input": 3, "output": 2, "rejected": 1}
        assert manifest["params"]["format"] == what.removesuffix(".gz")
        assert read_dataset(rejected_of(tmp_path / "out")).column("reason").to_pylist() == ["empty_text"]


def test_text_on_stdin_that_is_not_json_lines_needs_its_format_named(tmp_path):
    run = run_cltool("ingest", "-", "-o", str(tmp_path / "out"), stdin=_csv_bytes(","))
    assert run.returncode == 2 and b"-f csv" in run.stderr and not (tmp_path / "out").exists()
    run = run_cltool("ingest", "-", "-f", "csv", "-o", str(tmp_path / "out"), stdin=b"")
    assert run.returncode == 2 and b"stdin is empty" in run.stderr
    run = run_cltool("ingest", "-", "-f", "jsonl", "-o", str(tmp_path / "out"), stdin=_arrow_stream(tmp_path))
    assert run.returncode == 2 and b"-f jsonl, but stdin holds an Arrow stream" in run.stderr
    assert b"leave out -f" in run.stderr


def test_a_bad_line_on_stdin_is_named_by_its_number(tmp_path):
    run = run_cltool("ingest", "-", "-o", str(tmp_path / "out"), stdin=_jsonl_bytes() + b'{"anchor": \n')
    assert run.returncode == 2
    assert b"stdin, line 4: not valid JSON" in run.stderr and b"does not exist" not in run.stderr


@pytest.mark.parametrize("command", [["inspect", "-"], ["validate", "-"], ["embed", "-", "-o", "OUT"]])
@pytest.mark.parametrize("piped, says, fix", [
    (_jsonl_bytes(), b"stdin holds JSON lines, not an Arrow IPC stream", b"cltool ingest - -o - |"),
    (gzip.compress(_jsonl_bytes()), b"stdin holds gzip-compressed JSON lines", b"cltool ingest - -o - |"),
    (_csv_bytes(","), b"stdin holds text (CSV, TSV or other lines)", b"cltool ingest - -f csv -o - |"),
])
def test_every_other_command_names_the_fix_for_text_on_stdin(tmp_path, command, piped, says, fix):
    run = run_cltool(*[str(tmp_path / "out") if a == "OUT" else a for a in command], stdin=piped)
    assert run.returncode == 2, run.stderr.decode()
    assert says in run.stderr and fix in run.stderr
    assert not (tmp_path / "out").exists()


def test_an_arrow_stream_still_flows_between_commands(tmp_path):
    run = run_cltool("inspect", "-", "--json", stdin=_arrow_stream(tmp_path))
    assert run.returncode == 0, run.stderr.decode()
    assert json.loads(run.stdout)["rows"] == 2

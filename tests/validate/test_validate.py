"""`cltool validate`: every check passes on a good dataset and fails on one crafted to break it; exit
codes; the JSON and JUnit outputs parse."""

import json
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pyarrow as pa
import pytest

from cltool.dataset.write import Output
from cltool.errors import UsageError
from cltool.validate import Rules, load_rules, validate
from cltool.validate.checks import CHECKS
from tests.conftest import run_cltool, manifest_of
from tests.validate.datasets import LONG, good_rows, write

def statuses(report) -> dict[str, str]:
    return {c["name"]: c["status"] for c in report["checks"]}


def test_a_good_dataset_passes_every_check(tmp_path):
    report = validate(write(tmp_path / "good", good_rows()), Rules(min_negatives=2))
    assert report["passed"]
    assert set(statuses(report).values()) == {"pass", "skip"}
    assert statuses(report)["contamination"] == "skip"


@pytest.mark.parametrize("check, change", [
    ("empty_text", lambda rows: rows[2].update(positive="   ")),
    ("exact_duplicates", lambda rows: rows.append({**rows[0], "anchor": " Question 0  about TOPIC 0"})),
    ("near_duplicates", lambda rows: rows.extend([{**rows[0], "anchor": LONG, "positive": LONG + " again"},
                                                  {**rows[1], "anchor": LONG, "positive": LONG + " once more"}])),
    ("positive_in_negatives", lambda rows: rows[1]["negatives"].__setitem__(0, "Answer 1 explains topic 1 in detail.")),
    ("near_duplicate_negatives", lambda rows: (rows[3].update(positive=LONG),
                                               rows[3]["negatives"].__setitem__(0, LONG + " too"))),
    ("negatives_per_anchor", lambda rows: rows[4].update(negatives=["only one"], negative_scores=[0.1])),
    ("score_sanity", lambda rows: [r.update(negative_scores=[0.9, 0.4]) for r in rows[:2]]),
])
def test_each_check_fails_on_a_dataset_crafted_to_break_it(tmp_path, check, change):
    rows = good_rows()
    change(rows)
    report = validate(write(tmp_path / "bad", rows), Rules(min_negatives=2, max_hardest_negative_above_positive=0.05))
    failed = [c for c in report["checks"] if c["status"] == "fail"]
    also = ["near_duplicates"] if check == "exact_duplicates" else []  # an exact copy has Jaccard 1
    assert [c["name"] for c in failed] == [check, *also]
    assert not report["passed"] and failed[0]["examples"]


def test_schema_checks_columns_and_embedding_dimensions(tmp_path):
    rows = good_rows()
    source = write(tmp_path / "vec", rows, np.ones((len(rows), 4), dtype=np.float32))
    assert statuses(validate(source))["schema"] == "pass"
    report = validate(source, Rules(embedding_dim=8, required_columns=["anchor", "positive", "label"]))
    schema = next(c for c in report["checks"] if c["name"] == "schema")
    assert schema["status"] == "fail" and "label" in schema["detail"] and "4 dimensions" in schema["detail"]


def test_manifest_integrity_catches_a_changed_file(tmp_path):
    source = write(tmp_path / "data", good_rows())
    part = next((tmp_path / "data").glob("part-*.parquet"))
    part.write_bytes(part.read_bytes())  # same bytes: still fine
    assert statuses(validate(source))["manifest"] == "pass"
    manifest = manifest_of(tmp_path / "data")
    manifest["outputs"][0]["sha256"] = "0" * 64
    manifest["rows"]["input"] = 99
    (tmp_path / "data.manifest.json").write_text(json.dumps(manifest))
    check = next(c for c in validate(source)["checks"] if c["name"] == "manifest")
    assert check["status"] == "fail" and "sha256" in check["detail"] and "do not add up" in check["detail"]


def test_manifest_integrity_counts_rejected_rows_kept_elsewhere(tmp_path):
    from cltool.dataset.write import with_rejection

    table = pa.Table.from_pylist(good_rows())
    with Output(tmp_path / "data", command="test", params={}, rejected_target=str(tmp_path / "elsewhere")) as out:
        out.count_input(table.num_rows)
        out.write(table.slice(0, 4))
        out.reject(with_rejection(table.slice(4), reason=["test"] * 2, detail=[""] * 2))
    assert statuses(validate(str(tmp_path / "data")))["manifest"] == "pass"
    manifest = manifest_of(tmp_path / "data")
    manifest["rows"].update(input=7, rejected=3)  # still adds up, but the rejected dataset holds 2 rows
    (tmp_path / "data.manifest.json").write_text(json.dumps(manifest))
    check = next(c for c in validate(str(tmp_path / "data"))["checks"] if c["name"] == "manifest")
    assert check["status"] == "fail" and "elsewhere" in check["detail"]


def test_contamination_finds_shared_and_near_duplicate_texts(tmp_path):
    train = good_rows()
    train[0].update(anchor=LONG)
    source = write(tmp_path / "train", train)
    clean = write(tmp_path / "clean", [{**r, "anchor": f"evaluation question {i}", "positive": f"held-out answer {i}"}
                                       for i, r in enumerate(good_rows())])
    assert statuses(validate(source, against=clean))["contamination"] == "pass"
    dirty = good_rows()
    dirty[0].update(anchor="Evaluation", positive="answer 3 explains topic 3 in detail")  # exact, by match key
    dirty[1].update(anchor=LONG + " today", positive="a held-out answer")  # near: 13 of 14 word 5-grams
    for i in range(2, 6):
        dirty[i].update(anchor=f"evaluation question {i}", positive=f"held-out answer {i}")
    report = validate(source, against=write(tmp_path / "eval", dirty))
    check = next(c for c in report["checks"] if c["name"] == "contamination")
    assert check["status"] == "fail" and check["value"] == 2
    assert sorted(e["match"].split()[0] for e in check["examples"]) == ["exact", "near"]


def test_rules_file_and_limit_flags(tmp_path):
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text('checks = ["negatives_per_anchor", "score_sanity"]\n[limits]\nmin_negatives = 3\n'
                          'max_hardest_negative_above_positive = 0.5\n')
    rules = load_rules(str(rules_file), ["min_negatives=1"])
    assert rules.checks == ["negatives_per_anchor", "score_sanity"] and rules.min_negatives == 1
    assert rules.max_hardest_negative_above_positive == 0.5
    with pytest.raises(UsageError, match="unknown limit"):
        load_rules(None, ["max_everything=1"])


def test_cli_exit_codes_json_and_junit(tmp_path):
    good = write(tmp_path / "good", good_rows())
    run = run_cltool("validate", good, "--json", "--junit", str(tmp_path / "good.xml"))
    assert run.returncode == 0, run.stderr.decode()
    assert json.loads(run.stdout)["passed"] is True
    suite = ElementTree.parse(tmp_path / "good.xml").getroot()
    assert suite.get("failures") == "0" and len(suite.findall("testcase")) == len(CHECKS)

    rows = good_rows()
    rows[1]["negatives"][0] = rows[1]["positive"]
    bad = write(tmp_path / "bad", rows)
    run = run_cltool("validate", bad, "--json", "--junit", str(tmp_path / "bad.xml"))
    assert run.returncode == 1
    assert "positive_in_negatives" in run.stderr.decode()
    report = json.loads(run.stdout)
    assert report["passed"] is False
    suite = ElementTree.parse(tmp_path / "bad.xml").getroot()
    failed = [case.get("name") for case in suite.findall("testcase") if case.find("failure") is not None]
    # a copy of the positive is also (trivially) its near-duplicate
    assert failed == ["positive_in_negatives", "near_duplicate_negatives"] and suite.get("failures") == "2"

    assert run_cltool("validate", str(tmp_path / "missing")).returncode == 2
    assert run_cltool("validate", good, "--limit", "nonsense=1").returncode == 2


def test_the_example_rules_file_loads():
    rules = load_rules(str(Path(__file__).parents[2] / "examples" / "rules.toml"))
    assert rules.embedding_dim == 384 and rules.max_positive_in_negatives == 0 and "negatives" in rules.required_columns


def test_an_in_memory_table_is_validated_like_its_dataset(tmp_path):
    rows = good_rows()
    table = pa.Table.from_pylist(rows).cast(pa.schema([("anchor", pa.string()), ("positive", pa.string()),
                                                       ("negatives", pa.list_(pa.string())),
                                                       ("negative_scores", pa.list_(pa.float32())),
                                                       ("positive_score", pa.float64())]))
    report = validate(table, Rules(min_negatives=2))
    assert report["passed"] and report["rows"] == 6
    assert statuses(report)["manifest"] == "skip"
    on_disk = validate(write(tmp_path / "good", rows), Rules(min_negatives=2))
    assert [c for c in report["checks"] if c["name"] != "manifest"] == [
        c for c in on_disk["checks"] if c["name"] != "manifest"]


def test_each_registered_check_declares_its_limits_as_rules():
    from dataclasses import fields

    from cltool.validate import CHECKS

    names = {f.name for f in fields(Rules)}
    for check in CHECKS.values():
        assert check.description and set(check.limits) <= names
    assert Rules().near_duplicate_threshold == CHECKS["near_duplicates"].limits["near_duplicate_threshold"] == 0.8
    assert Rules().required_columns is not Rules().required_columns  # a list default is not shared


# -- emit's training files, read back ------------------------------------------------------------
def emitted(tmp_path: Path, chain: Path, fmt: str, ext: str, *extra: str) -> Path:
    """A training file written by a real `cltool emit` of the shared chain's mined pairs."""
    target = tmp_path / f"train-{fmt}{ext}"
    run = run_cltool("emit", str(chain / "mined"), "-o", str(target), "--format", fmt, "-q", *extra)
    assert run.returncode == 0, run.stderr.decode()
    return target


@pytest.mark.parametrize("fmt, ext, extra", [
    ("n-tuple", ".jsonl", ()), ("triplet", ".jsonl.gz", ()), ("bge", ".parquet", ("--include-scores",)),
    ("labeled-list", ".jsonl", ()), ("labeled-pair", ".jsonl", ()),
])
def test_validate_reads_an_emitted_training_file_and_runs_the_checks_that_apply(tmp_path, chain, fmt, ext, extra):
    target = emitted(tmp_path, chain, fmt, ext, *extra)
    report = validate(str(target), Rules(min_negatives=2))
    assert report["training_file"]["format"] == fmt and report["training_file"]["manifest"]
    assert report["rows"] == 60, report["training_file"]  # one (anchor, positive) pair per mined row
    assert report["passed"], [c for c in report["checks"] if c["status"] == "fail"]
    status = statuses(report)
    for check in ("schema", "empty_text", "exact_duplicates", "near_duplicates", "positive_in_negatives",
                  "near_duplicate_negatives", "negatives_per_anchor", "manifest"):
        assert status[check] == "pass", (check, report["checks"])
    assert status["score_sanity"] == ("pass" if extra else "skip")
    negatives = next(c for c in report["checks"] if c["name"] == "negatives_per_anchor")["value"]
    assert negatives["min"] == negatives["max"] == 2


def test_a_training_file_that_breaks_a_rule_fails_naming_its_line(tmp_path, chain):
    target = emitted(tmp_path, chain, "n-tuple", ".jsonl")
    lines = target.read_text().splitlines()
    second = json.loads(lines[1])
    second["negative_2"] = second["positive"]  # the positive leaked into the negatives
    lines[1] = json.dumps(second)
    doctored = tmp_path / "elsewhere" / "doctored.jsonl"
    doctored.parent.mkdir()
    doctored.write_text("\n".join(lines) + "\n")
    run = run_cltool("validate", str(doctored), "--json")
    assert run.returncode == 1, run.stderr.decode()
    report = json.loads(run.stdout)
    failed = {c["name"]: c for c in report["checks"] if c["status"] == "fail"}
    assert set(failed) == {"positive_in_negatives", "near_duplicate_negatives"}
    assert failed["positive_in_negatives"]["examples"][0]["line"] == 2
    manifest = next(c for c in report["checks"] if c["name"] == "manifest")
    assert manifest["status"] == "skip" and "no emit manifest" in manifest["detail"]
    assert "line=2" in run.stderr.decode() and "read as: anchor <- anchor" in run.stderr.decode()

    target.write_text("\n".join(lines) + "\n")  # edited in place: its manifest no longer matches
    check = next(c for c in validate(str(target))["checks"] if c["name"] == "manifest")
    assert check["status"] == "fail" and "sha256 differs" in check["detail"]


def test_labeled_pairs_with_scores_skip_the_checks_of_negatives_and_say_why(tmp_path, chain):
    report = validate(str(emitted(tmp_path, chain, "labeled-pair", ".jsonl", "--include-scores")))
    assert statuses(report)["positive_in_negatives"] == "skip"
    assert any("which text is a positive is unknown" in note for note in report["training_file"]["notes"])


def test_a_file_of_no_format_emit_writes_is_refused_with_the_fix(tmp_path):
    (tmp_path / "other.jsonl").write_text('{"question": "q", "reply": "r"}\n')
    run = run_cltool("validate", str(tmp_path / "other.jsonl"))
    assert run.returncode == 2 and b"not a training file" in run.stderr and b"cltool ingest" in run.stderr


# -- the table in a pipe ---------------------------------------------------------------------------
def test_the_table_is_printed_whole_when_stderr_is_a_pipe(tmp_path):
    rows = good_rows()
    rows[1]["negatives"][0] = rows[1]["positive"]
    run = run_cltool("validate", write(tmp_path / "bad", rows), env={"COLUMNS": "80"})  # stderr: a pipe
    assert run.returncode == 1
    table = [line for line in run.stderr.decode().splitlines() if line.startswith("│")]
    assert len(table) == len(CHECKS)  # one line per check: nothing wrapped
    for check in ("positive_in_negatives", "near_duplicate_negatives", "negatives_per_anchor"):
        assert any(line.startswith(f"│ {check} ") for line in table)
    assert any("as in cltool dedup)" in line and "exact_duplicates" in line for line in table)
    assert "'embedding_dims': {}}" in run.stderr.decode() and "..." not in "".join(table)
    assert max(len(line) for line in table) > 80


# -- validate and inspect count alike ---------------------------------------------------------------
def test_validate_and_inspect_count_the_same_rows_and_anchors(tmp_path):
    """Two positives per anchor: a1's hardest negative outscores its lower positive (on both its rows,
    measured against the anchor's lowest positive), a2 has no negatives (two rows, one anchor)."""
    rows = [
        {"anchor": "anchor one asks", "positive": "first answer to one", "negatives": ["a wrong one"],
         "negative_scores": [0.8], "positive_score": 0.9},
        {"anchor": "anchor one asks", "positive": "second answer to one", "negatives": ["a wrong one"],
         "negative_scores": [0.8], "positive_score": 0.5},
        {"anchor": "anchor two asks", "positive": "first answer to two", "negatives": [],
         "negative_scores": [], "positive_score": 0.9},
        {"anchor": "anchor two asks", "positive": "second answer to two", "negatives": [],
         "negative_scores": [], "positive_score": 0.8},
        {"anchor": "anchor three asks", "positive": "the answer to three", "negatives": ["far off", "farther"],
         "negative_scores": [0.1, 0.2], "positive_score": 0.9},
    ]
    source = write(tmp_path / "mined", rows)
    checked = run_cltool("validate", source, "--json", "--limit", "min_negatives=1")
    inspected = run_cltool("inspect", source, "--json")
    assert checked.returncode == 1 and inspected.returncode == 0, checked.stderr.decode() + inspected.stderr.decode()
    checks = {c["name"]: c for c in json.loads(checked.stdout)["checks"]}
    scores = json.loads(inspected.stdout)["scores"]

    short = checks["negatives_per_anchor"]["value"]
    assert (short["rows_outside"], short["anchors_outside"]) == (2, 1)
    assert (scores["rows_without_negatives"], scores["anchors_without_negatives"]) == (2, 1)

    above = (scores["anchors_hardest_negative_above_positive"], scores["anchors_with_positive_score"],
             scores["rows_hardest_negative_above_positive"])
    assert above == (1, 3, 2)
    assert checks["score_sanity"]["detail"].startswith("1 of 3 anchors (2 of 3 rows)")
    assert checks["score_sanity"]["value"] == round(1 / 3, 6)
    shown = run_cltool("inspect", source).stderr.decode()
    assert "without negatives: 2 rows, 1 anchors" in shown
    assert "hardest negative above the anchor's lowest positive: 1 of 3 anchors (2 rows)" in shown

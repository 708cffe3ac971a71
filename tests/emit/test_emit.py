"""`cltool emit`: every format loads with `datasets` and has the columns its losses take; BGE lines
follow FlagEmbedding's schema; short anchors are filled, dropped or paired, never silently lost; and
one real training step of the bundled MiniLM runs on an emitted file. Splits: test_split.py; files
that a failure or a kill leaves whole: test_files.py; manifests: test_manifests.py."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cltool.dataset.pairs import match_keys
from cltool.dataset.write import Output
from cltool.emit import Settings, emit, parse_split
from cltool.errors import InputError, UsageError
from tests.conftest import read_dataset, run_cltool
from tests.emit.mined_rows import ROWS


@pytest.mark.parametrize("fmt, columns", [
    ("triplet", ["anchor", "positive", "negative"]),
    ("n-tuple", ["anchor", "positive", "negative_1", "negative_2", "negative_3"]),
    ("labeled-pair", ["anchor", "text", "label"]),
    ("labeled-list", ["anchor", "texts", "labels"]),
])
@pytest.mark.parametrize("ext", [".jsonl", ".parquet", ".jsonl.gz"])
def test_each_format_loads_with_datasets_with_the_columns_in_loss_order(tmp_path, fmt, columns, ext, mined):
    from datasets import load_dataset

    source = mined(tmp_path / "mined")
    target = tmp_path / f"out{ext}"
    manifest = emit(source, str(target), Settings(format=fmt))
    builder = "parquet" if ext == ".parquet" else "json"
    data = load_dataset(builder, data_files=str(target), split="train")
    assert data.column_names == columns
    first = data[0]
    if fmt == "triplet":
        assert len(data) == 12 and first["negative"] == "reverse with xs[::-1]"  # 4 pairs x 3 negatives
    elif fmt == "n-tuple":
        assert len(data) == 4 and [first[f"negative_{i}"] for i in (1, 2, 3)] == ROWS[0][2]
    elif fmt == "labeled-pair":
        assert first == {"anchor": ROWS[0][0], "text": ROWS[0][1], "label": 1} and data[1]["label"] == 0
        assert len(data) == 15  # 4 positives + 11 negatives: a labeled row needs no set number of negatives
    else:
        assert first["texts"] == [ROWS[0][1], *ROWS[0][2]] and first["labels"] == [1, 0, 0, 0]
    assert manifest["rows"] == {"input": 4, "emitted": 4, "pairs_file": 0, "rejected": 0}
    sidecar = json.loads((tmp_path / "out.manifest.json").read_text())
    assert sidecar["outputs"][0]["rows"] == len(data)
    filled = sidecar["summary"].get("fill", {}).get("negatives_added", 0)
    assert filled == (1 if fmt in ("triplet", "n-tuple") else 0)  # the short anchor, topped up to 3


def test_include_scores_follows_sentence_transformers(tmp_path, mined, jsonl):
    source = mined(tmp_path / "mined")
    emit(source, str(tmp_path / "t.jsonl"), Settings(format="n-tuple", include_scores=True))
    line = jsonl(tmp_path / "t.jsonl")[0]
    assert list(line) == ["anchor", "positive", "negative_1", "negative_2", "negative_3", "scores"]
    assert line["scores"] == pytest.approx([0.9, 0.5, 0.4, 0.3])
    emit(source, str(tmp_path / "p.jsonl"), Settings(format="labeled-pair", include_scores=True))
    assert list(jsonl(tmp_path / "p.jsonl")[0]) == ["anchor", "text", "score"]  # the score replaces the label


@pytest.mark.parametrize("fmt", ["triplet", "n-tuple", "labeled-pair", "labeled-list", "bge"])
def test_hardness_file_lines_up_with_the_training_file(tmp_path, fmt, jsonl):
    """--include-scores writes FILE.hardness.parquet row for row with FILE: mine's ranks and scores
    and the judges' scores of exactly the texts each line holds; a filled negative has none."""
    rows = ROWS
    table = pa.table({
        "anchor": [r[0] for r in rows], "positive": [r[1] for r in rows],
        "negatives": pa.array([[*r[2][:1], None, *r[2][1:]] for r in rows], pa.list_(pa.string())),  # a null entry
        "negative_scores": pa.array([[0.5 - 0.1 * i for i in range(len(r[2]) + 1)] for r in rows],
                                    pa.list_(pa.float32())),
        "negative_ranks": pa.array([[len(t or "") for t in [*r[2][:1], None, *r[2][1:]]] for r in rows],
                                   pa.list_(pa.int32())),
        "negative_paraphrase_scores": pa.array([[0.01 * len(t or "") for t in [*r[2][:1], None, *r[2][1:]]]
                                                for r in rows], pa.list_(pa.float32())),
        "positive_score": pa.array([0.9, 0.8, 0.7, 0.6], pa.float32()),
    })
    with Output(tmp_path / "mined", command="mine", params={"num_negatives": 3}) as out:
        out.write(table)
    target = tmp_path / "train.jsonl"
    manifest = emit(str(tmp_path / "mined"), str(target), Settings(format=fmt, include_scores=True))
    lines, hardness = jsonl(target), pq.read_table(tmp_path / "train.hardness.parquet").to_pylist()
    assert len(hardness) == len(lines) > 0
    assert [o.get("role") for o in manifest["outputs"]] == [None, "hardness"]
    assert manifest["summary"]["splits"] == {"train": 4}
    position = {t: j for r in rows for j, t in enumerate([r[2][0], None, *r[2][1:]]) if t}  # as mined
    positive_score = dict(zip([r[1] for r in rows], [0.9, 0.8, 0.7, 0.6]))
    for line, hard in zip(lines, hardness):
        if fmt in ("triplet", "n-tuple"):
            positives = [line["positive"]]
            negatives = [line["negative"]] if fmt == "triplet" else [line[f"negative_{i}"] for i in (1, 2, 3)]
        elif fmt == "labeled-pair":  # one text a line: a positive (scored 0.6 and up) or a negative
            positives, negatives = ([line["text"]], []) if line["score"] >= 0.6 else ([], [line["text"]])
        elif fmt == "labeled-list":
            positives, negatives = line["texts"][:1], line["texts"][1:]
        else:
            positives, negatives = line["pos"], line["neg"]
        assert hard["positive_scores"] == pytest.approx([positive_score[p] for p in positives])
        assert len(hard["negative_ranks"]) == len(hard["negative_scores"]) == len(negatives)
        for text, rank, score, paraphrase in zip(negatives, hard["negative_ranks"], hard["negative_scores"],
                                                 hard["negative_paraphrase_scores"]):
            if text not in position:  # filled from another anchor: nothing was mined or judged for it
                assert rank is None and score is None and paraphrase is None
                continue
            assert rank == len(text) and score == pytest.approx(0.5 - 0.1 * position[text])
            assert paraphrase == pytest.approx(0.01 * len(text))


def test_bge_lines_match_flagembedding_schema(tmp_path, mined, jsonl):
    source = mined(tmp_path / "mined")
    emit(source, str(tmp_path / "bge.jsonl"), Settings(format="bge", include_scores=True, prompt="Represent: "))
    lines = jsonl(tmp_path / "bge.jsonl")
    assert len(lines) == 3  # one per anchor: the two rows of "how do I sort a list" are one query
    for line in lines:
        assert set(line) == {"query", "pos", "neg", "pos_scores", "neg_scores", "prompt"}
        assert isinstance(line["query"], str) and line["prompt"] == "Represent: "
        assert all(isinstance(t, str) for t in line["pos"] + line["neg"])
        assert len(line["pos_scores"]) == len(line["pos"]) and len(line["neg_scores"]) == len(line["neg"])
        assert line["neg"]  # FlagEmbedding samples from neg: an empty list would fail there
    assert lines[0]["pos"] == ["use sorted(xs)", "call xs.sort()"] and lines[0]["neg"] == ROWS[0][2]
    emit(source, str(tmp_path / "plain.jsonl"), Settings(format="bge"))
    assert set(jsonl(tmp_path / "plain.jsonl")[0]) == {"query", "pos", "neg"}


def test_fill_never_uses_the_anchors_own_positive_and_drop_and_pairs_keep_every_row(tmp_path, mined, jsonl):
    rows = [("q1", "Answer One.", []), ("q1", "answer two", ["n1"]), ("q2", "answer one", ["n2", "n3"]),
            ("q3", "answer three", ["n4", "n5"])]
    source = mined(tmp_path / "mined", rows, num_negatives=2)
    emit(source, str(tmp_path / "fill.jsonl"), Settings(format="n-tuple"))
    out = jsonl(tmp_path / "fill.jsonl")
    own = set(match_keys(["Answer One.", "answer two", "q1"]))  # "answer one" is q1's positive by match key
    for line in out[:2]:
        negatives = [line["negative_1"], line["negative_2"]]
        assert len(set(negatives)) == 2 and not own & set(match_keys(negatives))
    assert out[0]["negative_1"] == out[1]["negative_1"] or out[1]["negative_1"] == "n1"

    manifest = emit(source, str(tmp_path / "drop.jsonl"), Settings(format="n-tuple", short="drop"))
    assert manifest["rows"] == {"input": 4, "emitted": 2, "pairs_file": 0, "rejected": 2}
    rejected = read_dataset(tmp_path / "drop.rejected")
    assert rejected.column("reason").to_pylist() == ["too_few_negatives"] * 2

    manifest = emit(source, str(tmp_path / "paired.jsonl"), Settings(format="n-tuple", short="pairs"))
    assert manifest["rows"]["pairs_file"] == 2
    assert jsonl(tmp_path / "paired-pairs.jsonl") == [{"anchor": "q1", "positive": "Answer One."},
                                                      {"anchor": "q1", "positive": "answer two"}]


def test_max_rows_keeps_the_rest_in_rejected(tmp_path, mined, jsonl):
    source = mined(tmp_path / "mined")
    manifest = emit(source, str(tmp_path / "few.jsonl"), Settings(format="n-tuple", max_rows=3))
    assert len(jsonl(tmp_path / "few.jsonl")) == 3
    assert manifest["rejected_by_reason"] == {"max_rows": 1}


def test_bad_input_and_options(tmp_path, mined):
    plain = tmp_path / "plain"
    with Output(plain, command="test", params={}) as out:
        out.write(pa.table({"anchor": ["a"], "positive": ["b"]}))
    with pytest.raises(InputError, match="cltool mine"):
        emit(str(plain), str(tmp_path / "x.jsonl"))
    source = mined(tmp_path / "mined")
    with pytest.raises(UsageError, match=r"\.jsonl, \.jsonl\.gz, \.parquet"):
        emit(source, str(tmp_path / "x.csv"))
    with pytest.raises(UsageError, match="NAME=SHARE"):
        parse_split("dev")
    with pytest.raises(UsageError, match="train"):
        emit(source, str(tmp_path / "x.jsonl"), Settings(split={"dev": 0.6, "test": 0.5}))


def test_cli_writes_jsonl_to_stdout_and_refuses_bad_input(tmp_path, mined):
    source = mined(tmp_path / "mined")
    run = run_cltool("emit", source, "-o", "-", "--format", "triplet", "-q")
    assert run.returncode == 0, run.stderr.decode()
    lines = [json.loads(line) for line in run.stdout.decode().splitlines()]
    assert len(lines) == 12 and list(lines[0]) == ["anchor", "positive", "negative"]
    assert "warning" in run.stderr.decode() and "1 rows (25.0%) were short of 3" in run.stderr.decode()  # even -q
    run = run_cltool("emit", source, "-o", str(tmp_path / "x.txt"))
    assert run.returncode == 2 and ".jsonl, .jsonl.gz, .parquet" in run.stderr.decode()
    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"anchor": ["a"], "positive": ["b"]}), plain)
    run = run_cltool("emit", str(plain), "-o", str(tmp_path / "x.jsonl"))
    assert run.returncode == 2 and "cltool mine" in run.stderr.decode()


@pytest.mark.parametrize("fmt, loss_name", [("n-tuple", "MultipleNegativesRankingLoss"),
                                             ("triplet", "TripletLoss"), ("labeled-pair", "ContrastiveLoss")])
def test_one_real_training_step_of_the_bundled_model_on_an_emitted_file(tmp_path, fmt, loss_name, mined):
    """The loss sentence-transformers documents for the format takes the file's columns as they are:
    the label column (if any) as labels, every other column, in order, as inputs."""
    import torch
    from datasets import load_dataset
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import losses

    from cltool.embed.model import bundled_model_path

    source = mined(tmp_path / "mined")
    emit(source, str(tmp_path / "train.jsonl"), Settings(format=fmt))
    data = load_dataset("json", data_files=str(tmp_path / "train.jsonl"), split="train")
    model = SentenceTransformer(str(bundled_model_path()), device="cpu")
    loss = getattr(losses, loss_name)(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0)
    batch = data[:4]
    inputs = [c for c in data.column_names if c not in ("label", "labels", "score", "scores")]
    labels = torch.tensor(batch["label"]) if "label" in data.column_names else None
    features = [model.tokenize(batch[column]) for column in inputs]
    before = next(model.parameters()).detach().clone()
    value = loss(features, labels)
    value.backward()
    optimizer.step()
    assert torch.isfinite(value) and value.item() > 0
    assert not torch.equal(before, next(model.parameters()).detach())


def test_an_in_memory_table_emits_what_its_dataset_does(tmp_path, mined):
    source = mined(tmp_path / "mined")
    table = pq.read_table(next((tmp_path / "mined").glob("part-*.parquet")))
    emit(source, str(tmp_path / "from-disk.jsonl"), Settings(format="n-tuple", num_negatives=3))
    manifest = emit(table, str(tmp_path / "from-table.jsonl"), Settings(format="n-tuple", num_negatives=3))
    assert (tmp_path / "from-table.jsonl").read_bytes() == (tmp_path / "from-disk.jsonl").read_bytes()
    assert manifest["rows"]["emitted"] == 4

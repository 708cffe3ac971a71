"""BEIR folders (cltool/ingest/beir.py): corpus, queries and qrels become pairs and a corpus table,
every qrels line accounted for; the split is chosen by --beir-split (its old spelling --split warns)."""

import pytest

from cltool.errors import UsageError
from cltool.ingest import Settings, ingest
from tests.conftest import read_dataset, rejected_of, run_cltool, write_jsonl


def make_beir(folder, splits=("test",)):
    folder.mkdir()
    write_jsonl(folder / "corpus.jsonl", [
        {"_id": "d1", "title": "Cats", "text": "Cats purr."},
        {"_id": "d2", "title": "", "text": "Dogs bark."},
        {"_id": "d3", "title": "", "text": ""},
        {"_id": "d4", "title": "Only a title", "text": ""},
    ])
    write_jsonl(folder / "queries.jsonl", [{"_id": "q1", "text": "do cats purr"}, {"_id": "q2", "text": "do dogs bark"}])
    (folder / "qrels").mkdir()
    for split in splits:
        (folder / "qrels" / f"{split}.tsv").write_text(
            "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t2\nq2\td1\t0\nq9\td1\t1\nq1\td9\t1\nq1\td3\t1\n")


def test_beir_folder_gives_pairs_corpus_and_accounts_for_every_qrels_line(tmp_path):
    make_beir(tmp_path / "beir")
    result = ingest(str(tmp_path / "beir"), str(tmp_path / "pairs"))
    pairs = read_dataset(tmp_path / "pairs").to_pylist()
    assert [(p["anchor_id"], p["positive_id"], p["positive"], p["relevance"]) for p in pairs] == [
        ("q1", "d1", "Cats Cats purr.", 1), ("q2", "d2", "Dogs bark.", 2)]
    corpus = read_dataset(tmp_path / "pairs-corpus")
    assert corpus.column("id").to_pylist() == ["d1", "d2", "d4"]
    assert corpus.column("text").to_pylist()[2] == "Only a title"
    reasons = read_dataset(rejected_of(tmp_path / "pairs")).column("reason").to_pylist()
    assert sorted(reasons) == ["empty_text", "not_relevant", "unknown_id", "unknown_id"]
    assert result["pairs"]["rows"] == {"input": 6, "output": 2, "rejected": 4}
    assert result["corpus"]["rows"] == {"input": 4, "output": 3, "rejected": 1}


def test_beir_split_choice(tmp_path):
    make_beir(tmp_path / "beir", splits=("dev", "test"))
    with pytest.raises(UsageError, match="several qrels splits: dev, test"):
        ingest(str(tmp_path / "beir"), str(tmp_path / "out"))
    ingest(str(tmp_path / "beir"), str(tmp_path / "out"), Settings(beir_split="dev", title=False),
           corpus_output=str(tmp_path / "c"))
    assert read_dataset(tmp_path / "c").column("text").to_pylist()[0] == "Cats purr."
    assert not (tmp_path / "out-corpus").exists()


def test_beir_split_is_beir_split_and_the_old_spelling_still_works_with_a_warning(tmp_path):
    make_beir(tmp_path / "beir", splits=("dev", "test"))
    new = run_cltool("ingest", str(tmp_path / "beir"), "--beir-split", "dev", "-o", str(tmp_path / "new"))
    old = run_cltool("ingest", str(tmp_path / "beir"), "--split", "dev", "-o", str(tmp_path / "old"))
    assert new.returncode == old.returncode == 0, new.stderr + old.stderr
    assert "--split is deprecated" in old.stderr.decode() and "deprecated" not in new.stderr.decode()
    assert read_dataset(tmp_path / "old").equals(read_dataset(tmp_path / "new"))
    both = run_cltool("ingest", str(tmp_path / "beir"), "--split", "dev", "--beir-split", "dev", "-o",
                      str(tmp_path / "both"))
    assert both.returncode == 2 and b"give one of them" in both.stderr

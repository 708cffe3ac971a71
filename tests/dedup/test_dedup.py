import json
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from cltool.dataset.pairs import text_id
from cltool.dedup import Settings, dedup
from cltool.errors import InputError, UsageError
from tests.conftest import read_dataset, run_cltool, manifest_of, rejected_of


def shingles(text, n=5):
    words = text.lower().split()
    return {tuple(words[i:i + n]) for i in range(max(len(words) - n + 1, 1))}


def jaccard(a, b):
    x, y = shingles(a), shingles(b)
    return len(x & y) / len(x | y)


def test_exact_minhash_and_the_record_of_every_removal(tmp_path, write, planted_corpus):
    texts, planted = planted_corpus()
    ids = [f"doc{i}" for i in range(len(texts))]
    src = write(tmp_path / "in", {"anchor": [f"q{i}" for i in range(len(texts))], "positive": texts,
                                  "positive_id": ids})
    manifest = dedup(str(src), str(tmp_path / "out"), Settings(methods=("exact", "minhash")))
    rows = manifest["rows"]
    assert rows["input"] == len(texts) == rows["output"] + rows["rejected"]
    rejected = read_dataset(rejected_of(tmp_path / "out")).to_pylist()
    by_id = {r["positive_id"]: r for r in rejected}
    near = 0
    for copy, original, edits in planted:
        true = jaccard(texts[copy], texts[original])
        if edits == 0:
            assert by_id[ids[copy]]["reason"] == "exact_duplicate" and by_id[ids[copy]]["duplicate_of"] == ids[original]
        elif true >= 0.8:
            assert by_id[ids[copy]]["reason"] == "near_duplicate", (edits, true)
            assert by_id[ids[copy]]["duplicate_of"] == ids[original]
            near += 1
    assert near >= 150  # the one-word edits at least: the test must exercise the near path
    # nothing below the threshold is ever removed, and the similarity recorded is the true one
    index = {i: t for i, t in zip(ids, texts)}
    for r in rejected:
        if r["reason"] == "near_duplicate":
            true = jaccard(index[r["positive_id"]], index[r["duplicate_of"]])
            assert true >= 0.8 and r["similarity"] == pytest.approx(true, abs=1e-5)
    kept = read_dataset(tmp_path / "out").column("positive_id").to_pylist()
    assert all(ids[i] in kept for i in range(150))  # the first of each group stays
    assert manifest["summary"]["minhash"]["bands"] * manifest["summary"]["minhash"]["rows"] <= 128
    assert set(manifest["summary"]["minhash"]["catch_probability"]) == {"0.5", "0.7", "0.8", "0.9"}


def test_same_input_same_output_bytes(tmp_path, write, planted_corpus):
    texts, _ = planted_corpus(seed=1, originals=30)
    src = write(tmp_path / "in", {"positive": texts})
    for name in ("a", "b"):
        dedup(str(src), str(tmp_path / name), Settings(methods=("exact", "minhash")))
    for name in ("part-00000.parquet", "../a.rejected/part-00000.parquet"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name.replace("a.", "b.")).read_bytes()


def test_normalisation_and_blank_texts(tmp_path, write):
    src = write(tmp_path / "in", {"positive": ["Hello  World", "hello world", "HELLO WORLD!", "", "  ", None]})
    dedup(str(src), str(tmp_path / "out"), Settings(methods=("exact",)))
    rejected = read_dataset(rejected_of(tmp_path / "out")).to_pylist()
    assert [r["reason"] for r in rejected] == ["exact_duplicate", "empty_text", "empty_text", "empty_text"]
    assert rejected[0]["duplicate_of"] == text_id("Hello  World")
    dedup(str(src), str(tmp_path / "punct"), Settings(methods=("exact",),
                                                       method_options={"normalization": ("case", "whitespace",
                                                                                          "punctuation")}))
    assert read_dataset(tmp_path / "punct").num_rows == 1


def test_on_several_columns(tmp_path, write):
    src = write(tmp_path / "in", {"anchor": ["a", "a", "b"], "positive": ["p", "p", "p"],
                                  "anchor_id": ["1", "2", "3"], "positive_id": ["x", "y", "z"]})
    dedup(str(src), str(tmp_path / "out"), Settings(methods=("exact",), on=("anchor", "positive")))
    rejected = read_dataset(rejected_of(tmp_path / "out")).to_pylist()
    assert [r["duplicate_of"] for r in rejected] == ["1|x"]


def test_against_removes_only_what_the_reference_holds(tmp_path, write, planted_corpus):
    texts, planted = planted_corpus(seed=2, originals=20)
    reference = write(tmp_path / "ref", {"positive": texts[:10], "positive_id": [f"ref{i}" for i in range(10)]})
    copies = [texts[c] for c, o, r in planted if o < 10]
    expected = sum(max(jaccard(c, t) for t in texts[:10]) >= 0.8 for c in copies)
    assert 20 <= expected < 40  # exact copies and the light edits, not the heavy ones
    new = [texts[i] for i in range(10, 20)] + copies
    new += [new[0]]  # a duplicate inside the input alone: not ours to remove with --against
    src = write(tmp_path / "in", {"positive": new})
    manifest = dedup(str(src), str(tmp_path / "out"), Settings(methods=("exact", "minhash")), against=str(reference))
    rejected = read_dataset(rejected_of(tmp_path / "out")).to_pylist()
    assert all(r["duplicate_of"].startswith("ref") for r in rejected)
    assert len(rejected) == expected and manifest["rows"]["output"] == len(new) - expected
    assert read_dataset(reference).num_rows == 10


def test_rows_that_cannot_be_compared_are_rejected_not_crashed_on(tmp_path, write):
    vectors = pa.array([[1.0, 0.0], None, [float("nan"), 1.0], [1.0, 0.001]], pa.list_(pa.float32(), 2))
    src = write(tmp_path / "in", {"positive": ["a", "b", "c", "d"], "positive_embedding": vectors,
                                  "reason": ["mine"] * 4, "similarity": [1, 2, 3, 4]})
    manifest = dedup(str(src), str(tmp_path / "out"),
                     Settings(methods=("semantic",), method_options={"keep": "first", "clusters": 1}))
    rejected = read_dataset(rejected_of(tmp_path / "out")).to_pylist()
    assert [(r["positive"], r["reason"]) for r in rejected] == [
        ("b", "invalid_embedding"), ("c", "invalid_embedding"), ("d", "semantic_duplicate")]
    assert rejected[0]["input_reason"] == "mine" and rejected[2]["input_similarity"] == 4  # the user's columns stay
    assert manifest["rows"] == {"input": 4, "output": 1, "rejected": 3}
    reference = write(tmp_path / "ref", {"positive": ["a", None, " "]})
    manifest = dedup(str(src), str(tmp_path / "against"), Settings(methods=("exact",)), against=str(reference))
    assert manifest["rows"]["rejected"] == 1  # "a"; the blank reference rows match nothing


def test_bad_settings_and_inputs(tmp_path, write):
    src = write(tmp_path / "in", {"positive": ["a b c"]})
    with pytest.raises(UsageError, match="strictly between 0 and 1"):
        dedup(str(src), str(tmp_path / "o"), Settings(method_options={"threshold": 1.0}))
    with pytest.raises(UsageError, match="--clusters must be 1 or more"):
        dedup(str(src), str(tmp_path / "o"), Settings(methods=("semantic",), method_options={"clusters": -1}))
    with pytest.raises(UsageError, match="--clusters is read by --method semantic") as err:
        dedup(str(src), str(tmp_path / "o"), Settings(method_options={"clusters": 4}))  # exact, minhash: not read
    assert err.value.hint == "add --method semantic, or leave out --clusters"
    with pytest.raises(UsageError, match="--method takes"):
        dedup(str(src), str(tmp_path / "o"), Settings(methods=("fuzzy",)))
    with pytest.raises(InputError) as err:
        dedup(str(src), str(tmp_path / "o"), Settings(methods=("semantic",)))
    assert "positive_embedding" in err.value.message and "columns found: positive" in err.value.message
    assert "cltool embed" in err.value.hint


def test_cli_dedup(tmp_path, write, planted_corpus):
    texts, _ = planted_corpus(seed=4, originals=20)
    src = write(tmp_path / "in", {"positive": texts})
    result = run_cltool("dedup", str(src), "-o", str(tmp_path / "out"), "--method", "exact,minhash,entropy")
    assert result.returncode == 0, result.stderr
    err = result.stderr.decode()
    assert "bands x" in err and "0.8:" in err and "rejected" in err
    manifest = manifest_of(tmp_path / "out")
    assert manifest["rows"]["input"] == manifest["rows"]["output"] + manifest["rows"]["rejected"] == len(texts)
    bad = run_cltool("dedup", str(src), "-o", str(tmp_path / "bad"), "--threshold", "0")
    assert bad.returncode == 2 and bad.stderr.decode().startswith("error: --threshold")
    bad = run_cltool("dedup", str(src), "-o", str(tmp_path / "bad"), "--method", "semantic")
    assert bad.returncode == 2 and "cltool embed" in bad.stderr.decode()
    dry = run_cltool("dedup", str(src), "--dry-run", "--json")
    assert dry.returncode == 0 and json.loads(dry.stdout)["dry_run"] is True
    assert not (tmp_path / "bad").exists()


def test_decontaminate_pairs_against_a_corpus_table_and_read_stdin(tmp_path, write):
    src = write(tmp_path / "in", {"anchor": ["q1", "q2"], "positive": ["an evaluation document", "a training one"]})
    corpus = write(tmp_path / "eval", {"id": ["e1"], "text": ["An  evaluation document"]})
    manifest = dedup(str(src), str(tmp_path / "out"), Settings(methods=("exact",)), against=str(corpus))
    rejected = read_dataset(rejected_of(tmp_path / "out")).to_pylist()
    assert [r["duplicate_of"] for r in rejected] == ["e1"] and manifest["rows"]["output"] == 1

    piped = subprocess.run(["bash", "-o", "pipefail", "-c",
                            f"{sys.executable} -m cltool ingest {src} -o - -q | "
                            f"{sys.executable} -m cltool dedup - --against {corpus} --method exact "
                            f"-o {tmp_path / 'p'}"],
                           capture_output=True, timeout=120)
    assert piped.returncode == 0, piped.stderr
    assert read_dataset(tmp_path / "p").column("positive").to_pylist() == ["a training one"]


def test_an_in_memory_table_is_deduplicated_like_its_dataset(tmp_path, write, planted_corpus):
    texts, _ = planted_corpus(seed=6, originals=20)
    table = pa.table({"positive": texts, "positive_id": [f"d{i}" for i in range(len(texts))]})
    src = write(tmp_path / "in", table.to_pydict())
    from_disk = dedup(str(src), str(tmp_path / "disk"), Settings(methods=("exact", "minhash", "entropy")))
    from_table = dedup(table, str(tmp_path / "table"), Settings(methods=("exact", "minhash", "entropy")))
    assert from_table["rows"] == from_disk["rows"] and from_table["rows"]["rejected"] > 0
    for table, disk in ((tmp_path / "table", tmp_path / "disk"), (rejected_of(tmp_path / "table"), rejected_of(tmp_path / "disk"))):
        assert (table / "part-00000.parquet").read_bytes() == (disk / "part-00000.parquet").read_bytes()


def test_a_method_is_one_registration(tmp_path, write):
    """A method registered by name is a --method value, takes its turn by its order, and names its
    reason and wording in the summary and the rejected rows."""
    from cltool.dedup import METHODS, register

    try:
        @register("short", order=0, reason="too_short", detail="shorter than {duplicate_of}{where}")
        def short(job):
            live = job.live
            lengths = [len(t) for t in job.rows.texts[0].take(pa.array(live)).to_pylist()]
            gone = np.asarray([r for r, n in zip(live, lengths) if n < 3], dtype=np.int64)
            job.remove(gone, np.zeros(len(gone), dtype=np.int64), np.zeros(len(gone), dtype=np.float32))
            return {"shortest": min(lengths)}

        assert list(METHODS) == ["short", "exact", "minhash", "semantic", "entropy"]
        src = write(tmp_path / "in", {"positive": ["a long text", "ab", "a long text"]})
        manifest = dedup(str(src), str(tmp_path / "out"), Settings(methods=("exact", "short")))
    finally:
        METHODS.discard("short")
    assert manifest["summary"]["short"] == {"shortest": 2}
    assert list(manifest["summary"]["removed"].items()) == [("empty_text", 0), ("too_short", 1),
                                                           ("exact_duplicate", 1)]
    rejected = read_dataset(rejected_of(tmp_path / "out")).to_pylist()
    assert [(r["reason"], r["detail"]) for r in rejected] == [
        ("too_short", f"shorter than {text_id('a long text')}"),
        ("exact_duplicate", f"same normalised text as {text_id('a long text')}")]

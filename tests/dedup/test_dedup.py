import json
import os
import subprocess
import sys
import random

import numpy as np
import pyarrow as pa
import pytest

from cltool.dataset.pairs import text_id
from cltool.dataset.write import Output
from cltool.dedup import Settings, dedup
from cltool.dedup.semantic import semantic_duplicates
from cltool.errors import InputError, UsageError
from tests.conftest import read_dataset, run_cltool, manifest_of, rejected_of

VOCAB = [f"token{i}" for i in range(5000)]


def write(path, columns):
    with Output(path, command="test", params={}) as out:
        out.write(pa.table(columns))
    return path


def shingles(text, n=5):
    words = text.lower().split()
    return {tuple(words[i:i + n]) for i in range(max(len(words) - n + 1, 1))}


def jaccard(a, b):
    x, y = shingles(a), shingles(b)
    return len(x & y) / len(x | y)


def planted_corpus(seed=0, originals=150, length=80):
    """Originals plus copies with a known number of words replaced (0, 1, 2, 20 of 80: Jaccard of word
    5-grams about 1, 0.88, 0.77, 0.2); returns texts and (copy, original, edits)."""
    rng = random.Random(seed)
    texts, planted = [], []
    for _ in range(originals):
        texts.append(" ".join(rng.choices(VOCAB, k=length)))
    for i in range(originals):
        for edits in (0, 1, 2, 20):
            words = texts[i].split()
            for k in rng.sample(range(length), edits):
                words[k] = rng.choice(VOCAB)
            planted.append((len(texts), i, edits))
            texts.append(" ".join(words))
    return texts, planted


def test_exact_minhash_and_the_record_of_every_removal(tmp_path):
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


def test_same_input_same_output_bytes(tmp_path):
    texts, _ = planted_corpus(seed=1, originals=30)
    src = write(tmp_path / "in", {"positive": texts})
    for name in ("a", "b"):
        dedup(str(src), str(tmp_path / name), Settings(methods=("exact", "minhash")))
    for name in ("part-00000.parquet", "../a.rejected/part-00000.parquet"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name.replace("a.", "b.")).read_bytes()


def test_normalisation_and_blank_texts(tmp_path):
    src = write(tmp_path / "in", {"positive": ["Hello  World", "hello world", "HELLO WORLD!", "", "  ", None]})
    dedup(str(src), str(tmp_path / "out"), Settings(methods=("exact",)))
    rejected = read_dataset(rejected_of(tmp_path / "out")).to_pylist()
    assert [r["reason"] for r in rejected] == ["exact_duplicate", "empty_text", "empty_text", "empty_text"]
    assert rejected[0]["duplicate_of"] == text_id("Hello  World")
    dedup(str(src), str(tmp_path / "punct"), Settings(methods=("exact",),
                                                       method_options={"normalization": ("case", "whitespace",
                                                                                          "punctuation")}))
    assert read_dataset(tmp_path / "punct").num_rows == 1


def test_on_several_columns(tmp_path):
    src = write(tmp_path / "in", {"anchor": ["a", "a", "b"], "positive": ["p", "p", "p"],
                                  "anchor_id": ["1", "2", "3"], "positive_id": ["x", "y", "z"]})
    dedup(str(src), str(tmp_path / "out"), Settings(methods=("exact",), on=("anchor", "positive")))
    rejected = read_dataset(rejected_of(tmp_path / "out")).to_pylist()
    assert [r["duplicate_of"] for r in rejected] == ["1|x"]


def test_against_removes_only_what_the_reference_holds(tmp_path):
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


def brute_force_semantic(vectors, eps):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    sims = unit @ unit.T
    kept = []
    for i in range(len(unit)):
        if not any(sims[i, j] >= 1 - eps for j in kept):
            kept.append(i)
    return sorted(set(range(len(unit))) - set(kept))


@pytest.mark.parametrize("seed", range(3))
def test_semantic_equals_brute_force_all_pairs(seed):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(8, 16))
    vectors = np.repeat(centres, 25, axis=0) + rng.normal(scale=0.08, size=(200, 16))
    vectors = vectors.astype(np.float32)
    ours = semantic_duplicates(vectors, eps=0.02, clusters=1, keep="first", seed=0)
    assert sorted(ours.removed.tolist()) == brute_force_semantic(vectors, 0.02)
    assert (ours.cosine >= 0.98 - 1e-6).all()
    # more clusters can only miss pairs across clusters, never add one below the threshold
    clustered = semantic_duplicates(vectors, eps=0.02, clusters=8, keep="first", seed=0)
    assert set(clustered.removed.tolist()) <= set(brute_force_semantic(vectors, 0.02)) | set(clustered.removed.tolist())
    assert (clustered.cosine >= 0.98 - 1e-6).all()


@pytest.mark.parametrize("seed", range(3))
def test_semantic_finds_the_pairs_across_cluster_borders(seed):
    """Many small clusters put a row and its near copy in different clusters: SemDeDup's own cluster
    (probes 1) misses those pairs; the default probes find what comparing all pairs finds."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(300, 8)).astype(np.float32)
    vectors = np.concatenate([base, base[:150] + rng.normal(scale=0.25, size=(150, 8)).astype(np.float32)])
    exhaustive = brute_force_semantic(vectors, 0.1)
    own_cluster = semantic_duplicates(vectors, eps=0.1, clusters=60, keep="first", seed=0, probes=1)
    probed = semantic_duplicates(vectors, eps=0.1, clusters=60, keep="first", seed=0)
    assert len(own_cluster.removed) < len(exhaustive)
    assert sorted(probed.removed.tolist()) == exhaustive
    assert (probed.cosine >= 0.9 - 1e-6).all()


def test_semantic_on_an_embedding_column_and_keep_orders(tmp_path):
    rng = np.random.default_rng(0)
    base = rng.normal(size=(30, 8)).astype(np.float32)
    vectors = np.concatenate([base, base + rng.normal(scale=0.001, size=base.shape).astype(np.float32)])
    texts = [f"text {i}" for i in range(60)]
    src = write(tmp_path / "in", {"positive": texts, "positive_embedding": pa.FixedSizeListArray.from_arrays(
        pa.array(vectors.reshape(-1)), 8)})
    manifest = dedup(str(src), str(tmp_path / "out"),
                     Settings(methods=("semantic",), method_options={"keep": "first", "clusters": 4}))
    assert manifest["rows"]["rejected"] == 30
    rejected = read_dataset(rejected_of(tmp_path / "out")).to_pylist()
    assert all(int(r["positive"].split()[1]) >= 30 for r in rejected)
    report = dedup(str(src), None,
                   Settings(methods=("semantic",), dry_run=True, method_options={"eps": (0.0001, 0.05)}))
    assert report["summary"]["semantic"]["removed_fraction_by_eps"]["0.05"] == 0.5
    assert not (tmp_path / "none").exists()


def test_entropy(tmp_path):
    texts = ["aaaaaaaa", "test test test test", "Return self.", "a real sentence here", "ab " * 200,
             "Shakespeare", "東京は日本の首都であり最大の都市です", "N/A"]
    src = write(tmp_path / "in", {"positive": texts})
    manifest = dedup(str(src), str(tmp_path / "out"), Settings(methods=("entropy",)))
    rejected = read_dataset(rejected_of(tmp_path / "out")).to_pylist()
    assert [r["positive"][:4] for r in rejected] == ["aaaa", "test", "ab a"]
    assert all(r["reason"] == "low_information" and r["detail"] for r in rejected)
    assert manifest["summary"]["removed"]["low_information"] == 3


def test_rows_that_cannot_be_compared_are_rejected_not_crashed_on(tmp_path):
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


def test_bad_settings_and_inputs(tmp_path):
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


def test_cli_dedup(tmp_path):
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


def test_decontaminate_pairs_against_a_corpus_table_and_read_stdin(tmp_path):
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


def test_an_in_memory_table_is_deduplicated_like_its_dataset(tmp_path):
    texts, _ = planted_corpus(seed=6, originals=20)
    table = pa.table({"positive": texts, "positive_id": [f"d{i}" for i in range(len(texts))]})
    src = write(tmp_path / "in", table.to_pydict())
    from_disk = dedup(str(src), str(tmp_path / "disk"), Settings(methods=("exact", "minhash", "entropy")))
    from_table = dedup(table, str(tmp_path / "table"), Settings(methods=("exact", "minhash", "entropy")))
    assert from_table["rows"] == from_disk["rows"] and from_table["rows"]["rejected"] > 0
    for table, disk in ((tmp_path / "table", tmp_path / "disk"), (rejected_of(tmp_path / "table"), rejected_of(tmp_path / "disk"))):
        assert (table / "part-00000.parquet").read_bytes() == (disk / "part-00000.parquet").read_bytes()


def test_a_method_is_one_registration(tmp_path):
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


def _resident(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith(field))


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="needs Linux's /proc")
def test_semantic_pair_search_holds_only_the_pairs_it_found():
    """Each block's pairs came back as views of a worst-case buffer (24 bytes x 2 x 16 per query),
    all kept alive until the end: 0.6 GB on 135k real rows. Here 40k random rows, 6 probes, find
    almost no pairs, and the search must not grow memory by the ~180 MB those buffers took."""
    from cltool.dedup.semantic import cluster, cluster_work, pairs_in_clusters, ranking

    rng = np.random.default_rng(0)
    x = rng.standard_normal((40_000, 16)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    clustering = cluster(x, 200, 0, 6)
    ranks = ranking(len(x), clustering.to_centroid, None, "first")
    work = cluster_work(clustering)
    pairs_in_clusters(x, work, clustering.labels, ranks, 0.1)  # compiled and warm
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # the high-water mark starts again from the memory in use now
    before = _resident("VmRSS:")
    left, _, _ = pairs_in_clusters(x, work, clustering.labels, ranks, 0.1)
    assert _resident("VmHWM:") - before < 64 * 2**20
    assert len(left) < 1000

"""`cltool filter`: each judge against what it must flag, voting, refill from saved candidates, the
rejected records, and the real models (a tiny random-weight cross-encoder built here, the bundled
MiniLM as bi-encoder)."""

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from cltool.dataset.write import Output
from cltool.errors import InputError, UsageError
from cltool.filter import Settings, filter_negatives
from cltool.filter.judges.scored import sign_safe_floor
from tests.conftest import read_dataset, run_cltool, rejected_of, removed_negatives_of

LONG = ("the quick brown fox jumps over the lazy dog while the farmer watches from the porch of "
        "his old wooden house at the edge of the green valley")


def mined_table(path: Path, rows: list[dict]) -> str:
    """A table shaped like mine's output (negatives with ids and scores, positive_score)."""
    table = pa.table({
        "anchor": [r["anchor"] for r in rows],
        "positive": [r["positive"] for r in rows],
        "negatives": pa.array([r["negatives"] for r in rows], pa.list_(pa.string())),
        "negative_ids": pa.array([[f"n-{t}" for t in r["negatives"]] for r in rows], pa.list_(pa.string())),
        "negative_scores": pa.array([r.get("scores", [0.5] * len(r["negatives"])) for r in rows],
                                    pa.list_(pa.float32())),
        "positive_score": pa.array([r.get("positive_score", 0.8) for r in rows], pa.float32()),
        "lang": ["en"] * len(rows),
    })
    with Output(path, command="test", params={}) as out:
        out.write(table)
    return str(path)


ROWS = [
    {"anchor": "how do I sort a list", "positive": "Use sorted(xs) to sort a list.",
     "negatives": ["to sort a list, use SORTED(xs)", "reverse a list with xs[::-1]", "lists are mutable"]},
    {"anchor": "how do I sort a list", "positive": "call xs.sort() in place",
     "negatives": ["to sort a list, use SORTED(xs)", "reverse a list with xs[::-1]", "lists are mutable"]},
    {"anchor": "tell me a story", "positive": LONG,
     "negatives": [LONG.replace("lazy", "sleepy"), "a dictionary maps keys to values"]},
]


def test_lexical_removes_a_reworded_positive_for_every_row_of_the_anchor(tmp_path):
    source = mined_table(tmp_path / "mined", ROWS)
    manifest = filter_negatives(source, str(tmp_path / "out"), Settings(judges=("lexical",)))
    out = read_dataset(tmp_path / "out")
    negatives = out.column("negatives").to_pylist()
    assert negatives[0] == negatives[1] == ["reverse a list with xs[::-1]", "lists are mutable"]
    assert out.column("negative_ids").to_pylist()[0] == ["n-reverse a list with xs[::-1]", "n-lists are mutable"]
    assert out.column("negative_scores").to_pylist()[0] == [0.5, 0.5]
    # the long near-copy shares 23 of 25 words: Jaccard 0.92, over the threshold too
    assert negatives[2] == ["a dictionary maps keys to values"]
    assert out.column("lang").to_pylist() == ["en"] * 3  # other columns pass through
    removed = read_dataset(removed_negatives_of(tmp_path / "out"))
    assert sorted(removed.column("negative").to_pylist()) == sorted([ROWS[0]["negatives"][0],
                                                                     ROWS[2]["negatives"][0]])
    assert removed.column("judges").to_pylist() == [["lexical"], ["lexical"]]
    assert all(s >= 0.9 for s in removed.column("lexical_score").to_pylist())
    assert set(removed.column("reason").to_pylist()) == {"false_negative"}
    summary = manifest["summary"]
    assert summary["negatives"] == {"judged": 5, "removed": 2, "kept": 3}  # 5 distinct (anchor, negative)
    assert manifest["rows"] == {"input": 3, "output": 3, "rejected": 0}
    # every kept negative carries the judge's score, parallel to negatives: the best Jaccard with a positive
    lexical = out.column("negative_lexical_scores").to_pylist()
    assert [len(x) for x in lexical] == [len(x) for x in negatives]
    assert lexical[2] == [0.0] and all(0.0 <= v < 0.9 for row in lexical for v in row)
    # {reverse, a, list, with, xs, 1} and {use, sorted, xs, to, sort, a, list} share a, list, xs: 3 of 10 words
    assert lexical[0][0] == pytest.approx(3 / 10)


def test_judge_scores_follow_a_second_filter_and_refer_to_its_negatives(tmp_path):
    source = mined_table(tmp_path / "mined", ROWS)
    filter_negatives(source, str(tmp_path / "loose"), Settings(judges=("lexical",),
                                                               judge_options={"lexical_threshold": 1.0}))
    loose = read_dataset(tmp_path / "loose")
    assert loose.column("negative_lexical_scores").to_pylist()[2][0] > 0.9  # the long near-copy, kept at 1.0
    filter_negatives(str(tmp_path / "loose"), str(tmp_path / "strict"), Settings(judges=("lexical",)))
    strict = read_dataset(tmp_path / "strict")
    assert strict.column("negatives").to_pylist()[2] == ["a dictionary maps keys to values"]
    assert strict.column("negative_lexical_scores").to_pylist()[2] == [0.0]  # rewritten, not the old column


def test_duplicate_cluster_catches_the_near_copy_and_voting_needs_agreement(tmp_path):
    source = mined_table(tmp_path / "mined", ROWS)
    filter_negatives(source, str(tmp_path / "cluster"), Settings(judges=("duplicate-cluster",),
                                                                 judge_options={"cluster_threshold": 0.6}))
    kept = read_dataset(tmp_path / "cluster").column("negatives").to_pylist()
    assert kept[2] == ["a dictionary maps keys to values"]  # 5-word shingles: the one-word change stays close
    assert ROWS[0]["negatives"][0] in kept[0]  # a short rewording shares no 5-word shingle

    # both judges must agree: only the long near-copy is flagged by both
    manifest = filter_negatives(source, str(tmp_path / "all"), Settings(judges=("lexical", "duplicate-cluster"),
                                                                         vote="all",
        judge_options={"cluster_threshold": 0.6}))
    kept = read_dataset(tmp_path / "all").column("negatives").to_pylist()
    assert ROWS[0]["negatives"][0] in kept[0] and kept[2] == ["a dictionary maps keys to values"]
    assert manifest["summary"]["flagged_by_judge"] == {"lexical": 2, "duplicate-cluster": 1}
    removed = read_dataset(removed_negatives_of(tmp_path / "all"))
    assert removed.column("judges").to_pylist() == [["lexical", "duplicate-cluster"]]


def test_anchors_left_short_go_to_rejected_and_the_counts_add_up(tmp_path):
    source = mined_table(tmp_path / "mined", ROWS)
    manifest = filter_negatives(source, str(tmp_path / "out"), Settings(judges=("lexical",), min_negatives=2))
    assert manifest["rows"] == {"input": 3, "output": 2, "rejected": 1}
    rejected = read_dataset(rejected_of(tmp_path / "out"))
    assert rejected.column("reason").to_pylist() == ["too_few_negatives"]
    assert rejected.column("anchor").to_pylist() == ["tell me a story"]
    assert "1 negatives left" in rejected.column("detail").to_pylist()[0]


def test_bad_input_and_options_are_refused(tmp_path):
    plain = tmp_path / "plain"
    with Output(plain, command="test", params={}) as out:
        out.write(pa.table({"anchor": ["a"], "positive": ["b"]}))
    with pytest.raises(InputError, match="cltool mine"):
        filter_negatives(str(plain), str(tmp_path / "out"))
    source = mined_table(tmp_path / "mined", ROWS)
    for settings, message in ((Settings(judges=("lexical",), vote="2"), "more judges"),
                              (Settings(judges=("magic",)), "unknown judge"),
                              (Settings(judges=("cross-encoder",)), "needs a model"),
                              (Settings(judges=("lexical",),
                                        judge_options={"clusters_from": "x"}), "duplicate-cluster")):
        with pytest.raises(UsageError, match=message):
            filter_negatives(source, str(tmp_path / "out"), settings)


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


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory) -> Path:
    """A random-weight BERT with one relevance output, saved as a CrossEncoder folder; it reuses
    the bundled MiniLM's vocabulary, so no download."""
    import shutil

    from transformers import BertConfig, BertForSequenceClassification

    from cltool.embed.model import bundled_model_path

    folder = tmp_path_factory.mktemp("tiny-ce")
    bundled = bundled_model_path()
    for name in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json"):
        if (bundled / name).is_file():
            shutil.copy(bundled / name, folder / name)
    vocab = sum(1 for _ in open(folder / "vocab.txt", encoding="utf-8"))
    config = BertConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, num_labels=1)
    import torch

    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(folder)
    return folder


def test_cross_encoder_judge_scores_each_pair_once_and_applies_the_sign_safe_ratio(tmp_path, tiny_cross_encoder):
    from sentence_transformers import CrossEncoder

    source = mined_table(tmp_path / "mined", ROWS)
    calls = []
    original = CrossEncoder.predict

    def counting(self, inputs, *args, **kwargs):
        calls.extend(inputs)
        return original(self, inputs, *args, **kwargs)

    CrossEncoder.predict = counting
    try:
        manifest = filter_negatives(source, str(tmp_path / "out"),
                                    Settings(judges=(f"cross-encoder:{tiny_cross_encoder}",),
                                             judge_options={"ratio": 0.9}))
    finally:
        CrossEncoder.predict = original
    assert len(calls) == len(set(calls))  # every distinct (anchor, text) once: 3 positives + 5 negatives
    assert len(calls) == 8

    reference = CrossEncoder(str(tiny_cross_encoder), device="cpu")
    out = read_dataset(tmp_path / "out")
    removed = read_dataset(removed_negatives_of(tmp_path / "out"))
    expected_removed = 0
    for anchor in ("how do I sort a list", "tell me a story"):
        rows = [r for r in ROWS if r["anchor"] == anchor]
        positive = min(reference.predict([(anchor, r["positive"]) for r in rows]))
        floor = sign_safe_floor(np.float32(positive), 0.9)
        scores = reference.predict([(anchor, n) for n in rows[0]["negatives"]])
        expected = [n for n, s in zip(rows[0]["negatives"], scores) if s < floor]
        expected_removed += len(rows[0]["negatives"]) - len(expected)  # one record per anchor, not per row
        got = out.filter(pa.compute.equal(out.column("anchor"), anchor))
        assert got.column("negatives").to_pylist()[0] == expected
        np.testing.assert_allclose(got.column("negative_ce_scores").to_pylist()[0],
                                   [s for s in scores if s < floor], rtol=1e-5)
        np.testing.assert_allclose(got.column("positive_ce_score").to_pylist(),
                                   reference.predict([(anchor, r["positive"]) for r in rows]), rtol=1e-5)
    assert removed.num_rows == manifest["summary"]["negatives"]["removed"] == expected_removed
    assert removed.num_rows == 0 or "cross_encoder_score" in removed.column_names
    assert manifest["params"]["judge_models"]["cross-encoder"]["model_path"] == str(tiny_cross_encoder)


def test_sign_safe_floor_holds_for_negative_scores():
    assert sign_safe_floor(np.float32(0.8), 0.95) == pytest.approx(0.76)
    assert sign_safe_floor(np.float32(-2.0), 0.95) == pytest.approx(-2.1)  # not -1.9, which is above the positive


def test_bi_encoder_judge_with_the_bundled_model_flags_a_paraphrase(tmp_path):
    rows = [{"anchor": "how can I sort a python list", "positive": "Use the sorted function to sort a list.",
             "negatives": ["To sort a list, use the sorted function.", "The weather in Paris is mild in spring."]}]
    source = mined_table(tmp_path / "mined", rows)
    manifest = filter_negatives(source, str(tmp_path / "out"), Settings(judges=("bi-encoder",),
                                                                        judge_options={"ratio": 0.9}))
    assert read_dataset(tmp_path / "out").column("negatives").to_pylist() == [[rows[0]["negatives"][1]]]
    removed = read_dataset(removed_negatives_of(tmp_path / "out"))
    score, positive = removed.column("bi_encoder_score")[0].as_py(), removed.column("bi_encoder_positive_score")[0]
    assert score >= 0.9 * positive.as_py()
    assert manifest["params"]["judge_models"]["bi-encoder"]["model_id"] == "sentence-transformers/all-MiniLM-L6-v2"


def test_paraphrase_judge_flags_a_paraphrase_of_a_positive_and_reads_the_embedding_cache(tmp_path, monkeypatch):
    """The paraphrase judge catches a reworded positive that shares few words with it (lexical and
    MinHash cannot), using texts the embedding cache already holds. (One anchor's texts are too few
    to read a threshold off: the rule itself, with a cosine.)"""
    monkeypatch.setenv("CLTOOL_CACHE_DIR", str(tmp_path / "cache"))
    rows = [{"anchor": "how can I sort a python list",
             "positive": "Use the built-in sorted function to put the items of a list in order.",
             "negatives": ["To order a list's elements, call sorted() on it.",
                           "The weather in Paris is mild in spring."]}]
    source = mined_table(tmp_path / "mined", rows)
    judges = Settings(judges=("paraphrase", "lexical", "duplicate-cluster"),
                      judge_options={"paraphrase_threshold": 0.5})
    first = filter_negatives(source, str(tmp_path / "out"), judges, cache_dir=tmp_path / "cache")
    assert read_dataset(tmp_path / "out").column("negatives").to_pylist() == [[rows[0]["negatives"][1]]]
    assert first["summary"]["flagged_by_judge"] == {"paraphrase": 1, "lexical": 0, "duplicate-cluster": 0}
    removed = read_dataset(removed_negatives_of(tmp_path / "out")).to_pylist()[0]
    assert removed["paraphrase_score"] >= 0.6 and removed["judges"] == ["paraphrase"]
    # what it was compared with is the threshold, and named so (it was paraphrase_positive_score)
    assert removed["paraphrase_threshold"] == 0.5 and "paraphrase_positive_score" not in removed
    assert removed["detail"] == f"paraphrase: cosine {removed['paraphrase_score']:.4f} with a positive, at or above " \
                                "the threshold 0.5000"
    kept = read_dataset(tmp_path / "out").to_pylist()[0]  # the kept negative's cosine to the positive, recorded
    assert len(kept["negative_paraphrase_scores"]) == 1 and kept["negative_paraphrase_scores"][0] < 0.5
    assert kept["negative_lexical_scores"][0] < 0.9 and "negative_duplicate_cluster_scores" not in kept
    # the texts are now in the cache: a second run loads no model
    import cltool.embed.model as model

    monkeypatch.setattr(model.ModelSpec, "load", lambda *a, **k: pytest.fail("the model was loaded again"))
    filter_negatives(source, str(tmp_path / "again"), Settings(judges=("paraphrase",),
                                                               judge_options={"paraphrase_threshold": 0.5}),
                     cache_dir=tmp_path / "cache")
    assert read_dataset(tmp_path / "again").column("negatives").to_pylist() == [[rows[0]["negatives"][1]]]


def write_embedded(path: Path, columns: dict) -> str:
    arrays, fields = [], []
    for name, values in columns.items():
        if name.endswith("_embedding"):
            values = np.asarray(values, dtype=np.float32)
            values = pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), values.shape[1])
        else:
            values = pa.array(values)
        arrays.append(values)
        fields.append(pa.field(name, values.type))
    with Output(path, command="test", params={}) as out:
        out.write(pa.Table.from_arrays(arrays, schema=pa.schema(fields)))
    return str(path)


def test_refill_takes_the_next_candidates_that_pass_mines_rules_and_the_judges(tmp_path):
    from cltool.mine import Settings as MineSettings
    from cltool.mine import mine

    def unit(x):
        x = np.asarray(x, dtype=np.float64)
        return x / np.linalg.norm(x, axis=-1, keepdims=True)

    # anchor 0 points along e0; its candidates fan out from it, the most similar first
    dim = 8
    e = np.eye(dim)
    anchor = e[0]
    positive = unit(e[0] + 0.2 * e[1])
    # docs[0] is the positive's words in another order (another match key, so mine keeps it)
    docs = ["on the list, use sorted", "lists keep their order", "tuples cannot change", "dicts map keys",
            "sets have no order"]
    doc_vectors = unit([e[0] + 0.5 * e[2], e[0] + 0.6 * e[3], e[0] + 0.8 * e[4], e[0] + 1.0 * e[5],
                        e[0] + 1.2 * e[6]])
    pairs = write_embedded(tmp_path / "pairs", {
        "anchor": ["how to sort", "unrelated question"],
        "positive": ["use sorted on the list", "an unrelated answer"],
        "anchor_embedding": [anchor, e[7]],
        "positive_embedding": [positive, unit(e[7] + 0.1 * e[6])],
    })
    corpus = write_embedded(tmp_path / "corpus", {"id": [f"d{i}" for i in range(5)], "text": docs,
                                                  "text_embedding": doc_vectors})
    mine(pairs, str(tmp_path / "mined"), MineSettings(num_negatives=2, relative_margin=None, near_duplicate=None,
                                                       range_min=0, range_max=6, sampling="top"),
         corpus=[corpus], save_candidates=str(tmp_path / "candidates"))
    mined = read_dataset(tmp_path / "mined")
    assert mined.column("negatives").to_pylist()[0] == docs[:2]

    settings = Settings(judges=("lexical",), min_negatives=2, candidates=str(tmp_path / "candidates"))
    manifest = filter_negatives(str(tmp_path / "mined"), str(tmp_path / "out"), settings)
    out = read_dataset(tmp_path / "out")
    assert out.column("negatives").to_pylist()[0] == [docs[1], docs[2]]  # docs[0] judged, docs[2] next in rank
    assert out.column("negative_ranks").to_pylist()[0] == [2, None]  # a refill has no rank in the mined list
    removed = read_dataset(removed_negatives_of(tmp_path / "out"))
    assert removed.column("negative").to_pylist() == [docs[0]]
    assert manifest["summary"]["refill"] == {"anchors_short": 1, "anchors_refilled": 1, "negatives_added": 1,
                                             "proposals_judged": 1}
    assert manifest["rows"] == {"input": 2, "output": 2, "rejected": 0}
    json.dumps(manifest)


def test_duplicate_cluster_reads_the_links_of_a_dedup_output(tmp_path):
    from cltool.dedup import Settings as DedupSettings
    from cltool.dedup import dedup

    corpus = tmp_path / "corpus"
    with Output(corpus, command="test", params={}) as out:
        out.write(pa.table({"id": ["c1", "c2", "c3"], "text": [LONG, LONG.replace("lazy", "sleepy"), "other text"]}))
    dedup(str(corpus), str(tmp_path / "deduped"),
          DedupSettings(methods=("minhash",), on=("text",), method_options={"threshold": 0.5}))
    assert read_dataset(rejected_of(tmp_path / "deduped")).column("duplicate_of").to_pylist() == ["c1"]
    mined = tmp_path / "mined"
    with Output(mined, command="test", params={}) as out:
        out.write(pa.table({"anchor": ["a story"], "positive": [LONG], "positive_id": ["c1"],
                            "negatives": [["a rewritten story", "other text"]],
                            "negative_ids": [["c2", "c3"]]}))
    manifest = filter_negatives(str(mined), str(tmp_path / "out"),
                                Settings(judges=("duplicate-cluster",),
                                         judge_options={"clusters_from": str(tmp_path / "deduped")}))
    # the negative's text differs, but dedup linked its id to the positive's
    assert read_dataset(tmp_path / "out").column("negative_ids").to_pylist() == [["c3"]]
    assert manifest["params"]["judge_models"]["duplicate-cluster"] == {"from": str(tmp_path / "deduped")}


def fake_dedup_output(path: Path, links: dict[str, str]) -> str:
    """What filter reads from a `cltool dedup` output: its manifest, and removed rows (id) with duplicate_of."""
    from cltool.dataset.write import with_rejection

    with Output(path, command="dedup", params={}) as out:
        out.write(pa.table({"id": ["kept"], "text": ["kept"]}))
        removed = pa.table({"id": list(links), "text": list(links)})
        out.reject(with_rejection(removed, reason=["duplicate"] * len(links), detail=[""] * len(links),
                                  duplicate_of=list(links.values())))
    return str(path)


def test_cli_clusters_from_and_its_deprecated_spelling(tmp_path):
    mined = tmp_path / "mined"
    with Output(mined, command="test", params={}) as out:
        out.write(pa.table({"anchor": ["a story"], "positive": [LONG], "positive_id": ["c1"],
                            "negatives": [["a rewritten story", "other text"]], "negative_ids": [["c2", "c3"]]}))
    deduped = fake_dedup_output(tmp_path / "deduped", {"c2": "c1"})
    runs = {}
    for flag in ("--clusters-from", "--clusters"):
        out = tmp_path / flag.strip("-")
        run = run_cltool("filter", str(mined), "--judge", "duplicate-cluster", flag, deduped, "-o", str(out))
        assert run.returncode == 0, run.stderr.decode()
        assert read_dataset(out).column("negative_ids").to_pylist() == [["c3"]]
        runs[flag] = run.stderr.decode()
    assert "deprecated" not in runs["--clusters-from"]
    assert "--clusters is deprecated" in runs["--clusters"] and "--clusters-from" in runs["--clusters"]
    both = run_cltool("filter", str(mined), "--judge", "duplicate-cluster", "--clusters", deduped, "--clusters-from",
                      deduped, "-o", str(tmp_path / "both"))
    assert both.returncode == 2 and "give one of them" in both.stderr.decode()
    alone = run_cltool("filter", str(mined), "--judge", "lexical", "--clusters-from", deduped,
                       "-o", str(tmp_path / "x"))
    assert alone.returncode == 2 and "--clusters-from is read by --judge duplicate-cluster" in alone.stderr.decode()


def test_an_arrow_table_is_filtered_as_its_dataset_is(tmp_path):
    source = mined_table(tmp_path / "mined", ROWS)
    settings = Settings(judges=("lexical", "duplicate-cluster"), min_negatives=2)
    from_path = filter_negatives(source, str(tmp_path / "path"), settings)
    from_table = filter_negatives(read_dataset(tmp_path / "mined"), str(tmp_path / "table"), settings)
    for part in (lambda p: p, rejected_of, removed_negatives_of):
        assert read_dataset(part(tmp_path / "table")).equals(read_dataset(part(tmp_path / "path")))
    assert from_table["summary"] == from_path["summary"]


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

"""Thresholds read off the data (cltool.calibration): the sampled tail against every pair, the same
rule on another model's cosine scale, and mine and filter applying and recording it."""

import numpy as np
import pytest

from cltool.calibration import NEAR_DUPLICATE_TAIL, Tail, random_pair_cosines
from cltool.filter import Settings as FilterSettings, filter_negatives
from cltool.mine import Settings, mine
from tests.conftest import read_dataset, run_cltool
from tests.filter.conftest import mined_table
from tests.vectors import unit


def compressed(x, offset=1.5, seed=7):
    """An e5-like cosine scale: unit vectors plus a fixed offset, normalised again (unrelated texts
    then score about 0.7)."""
    direction = unit(np.random.default_rng(seed).normal(size=x.shape[1]))
    return unit(unit(x) + offset * direction)


def clustered(seed, n, dim=32, clusters=12):
    rng = np.random.default_rng(seed)
    centres = unit(rng.normal(size=(clusters, dim)))
    return unit(centres[rng.integers(0, clusters, n)] + rng.normal(scale=0.8, size=(n, dim)))


@pytest.mark.parametrize("scale", [unit, compressed])
def test_the_threshold_is_the_tail_of_every_random_pair(scale):
    positives, candidates = scale(clustered(1, 300)), scale(clustered(2, 700))
    near = Tail.from_background(random_pair_cosines(positives, candidates, seed=3), NEAR_DUPLICATE_TAIL)
    every = (positives @ candidates.T).ravel()
    low, high = np.quantile(every, [1 - 1.5 * NEAR_DUPLICATE_TAIL, 1 - 0.5 * NEAR_DUPLICATE_TAIL])
    assert low <= near.threshold <= high
    assert near.describe()["random_pairs"] == 20_000
    again = Tail.from_background(random_pair_cosines(positives, candidates, seed=3), NEAR_DUPLICATE_TAIL)
    assert again.threshold == near.threshold  # seeded: the same threshold every run
    assert Tail.from_description(near.describe()) == near


def test_no_pairs_means_no_threshold():
    near = Tail.from_background(random_pair_cosines(np.empty((0, 4)), np.ones((3, 4)), seed=1), 0.01)
    assert near.value is None and near.describe()["threshold"] is None


def paraphrase_data(scale, anchors=120, planted=40, corpus=300, dim=32):
    """Anchors and their positives, a corpus of unrelated texts, and for the first `planted` anchors
    a paraphrase of the positive (the positive plus a little noise) in the corpus."""
    rng = np.random.default_rng(5)
    positives = clustered(6, anchors, dim)
    anchor_vectors = unit(positives + rng.normal(scale=0.25, size=positives.shape))
    paraphrases = unit(positives[:planted] + rng.normal(scale=0.12, size=(planted, dim)))
    docs = np.concatenate([paraphrases, clustered(8, corpus, dim)])
    pairs = {"anchor": [f"question {i}" for i in range(anchors)], "positive": [f"answer {i}" for i in range(anchors)],
             "anchor_embedding": scale(anchor_vectors), "positive_embedding": scale(positives)}
    corpus_table = {"id": [f"para{i}" for i in range(planted)] + [f"doc{i}" for i in range(corpus)],
                    "text": [f"paraphrase {i}" for i in range(planted)] + [f"document {i}" for i in range(corpus)],
                    "text_embedding": scale(docs)}
    return pairs, corpus_table


@pytest.mark.parametrize("scale", [unit, compressed])
def test_mine_auto_removes_paraphrases_on_any_cosine_scale(tmp_path, scale, write_embedded):
    pairs, docs = paraphrase_data(scale)
    args = write_embedded(tmp_path / "pairs", pairs), [write_embedded(tmp_path / "docs", docs)]
    manifest = mine(args[0], str(tmp_path / "out"), Settings(num_negatives=2, sampling="top"), corpus=args[1])
    out = read_dataset(tmp_path / "out").to_pylist()
    chosen = {i: row["negative_ids"] for i, row in enumerate(out)}
    assert not any(f"para{i}" in chosen[i] for i in range(40)), "a planted paraphrase became a negative"
    assert all(len(ids) == 2 for ids in chosen.values())
    calibration = manifest["summary"]["calibration"]["near_duplicate"]
    assert calibration["applied"] and calibration["threshold"] == manifest["params"]["near_duplicate"]
    assert calibration["random_pair_cosine"]["p99"] == pytest.approx(calibration["threshold"], abs=1e-4)
    # one absolute cosine does not transfer: on the compressed scale 0.5 calls most candidates paraphrases
    fixed = mine(args[0], str(tmp_path / "fixed"), Settings(num_negatives=2, sampling="top", near_duplicate=0.5),
                 corpus=args[1])
    found = fixed["summary"]["anchors_without_negatives"]
    assert found >= 60 if scale is compressed else found == 0


def test_a_search_from_saved_candidates_keeps_the_threshold_it_was_read_with(tmp_path, write_embedded):
    pairs, docs = paraphrase_data(unit)
    source = write_embedded(tmp_path / "pairs", pairs)
    first = mine(source, str(tmp_path / "out"), Settings(num_negatives=2),
                 corpus=[write_embedded(tmp_path / "docs", docs)], save_candidates=str(tmp_path / "candidates"))
    again = mine(source, str(tmp_path / "again"), Settings(num_negatives=2), from_candidates=str(tmp_path / "candidates"))
    assert again["params"]["near_duplicate"] == first["params"]["near_duplicate"]
    assert read_dataset(tmp_path / "again").column("negative_ids").to_pylist() == \
        read_dataset(tmp_path / "out").column("negative_ids").to_pylist()


def test_filter_reads_the_paraphrase_threshold_off_its_input(tmp_path):
    """The bundled MiniLM: each anchor's negatives are a rewording of its positive and another
    anchor's positive; auto flags the rewordings and keeps the others, and records its numbers."""
    verbs = ["sort", "reverse", "copy", "print", "count", "shuffle", "merge", "compress"]
    things = ["a list", "a text file", "a dictionary", "an image", "a date"]
    topics = [f"{verb} {thing}" for verb in verbs for thing in things]
    rng = np.random.default_rng(0)
    rows = []
    for i, topic in enumerate(topics):
        others = [topics[j] for j in rng.choice([j for j in range(len(topics)) if j != i], 4, replace=False)]
        rows.append({"anchor": f"how do I {topic} in python", "positive": f"To {topic}, use the standard library.",
                     "negatives": [f"The standard library lets you {topic}.",
                                   *(f"Here is how people {other} at work." for other in others)]})
    source = mined_table(tmp_path / "mined", rows)
    manifest = filter_negatives(source, str(tmp_path / "out"), FilterSettings(judges=("paraphrase",)),
                                cache_dir=tmp_path / "cache")
    kept = read_dataset(tmp_path / "out").column("negatives").to_pylist()
    flagged = sum(row["negatives"][0] not in negatives for row, negatives in zip(rows, kept))
    kept_others = sum(n in negatives for row, negatives in zip(rows, kept) for n in row["negatives"][1:])
    assert flagged >= 32 and kept_others >= 150
    judge = manifest["params"]["judge_models"]["paraphrase"]
    assert judge["calibration"]["applied"] and judge["threshold"] == judge["calibration"]["threshold"]
    assert manifest["params"]["paraphrase_threshold"] == "auto"


def test_inspect_and_report_show_the_thresholds_read_off_the_data(tmp_path, write_embedded):
    pairs, docs = paraphrase_data(compressed)
    manifest = mine(write_embedded(tmp_path / "pairs", pairs), str(tmp_path / "mined"), Settings(num_negatives=1),
                    corpus=[write_embedded(tmp_path / "docs", docs)])
    threshold = manifest["summary"]["calibration"]["near_duplicate"]["threshold"]
    shown = run_cltool("inspect", str(tmp_path / "mined"))
    assert shown.returncode == 0
    assert f"near-duplicate threshold (cosine with a positive): {threshold:.4f}, the cosine that 1% of" in \
        shown.stderr.decode()
    assert "deepening floor" in shown.stderr.decode()
    page = run_cltool("report", str(tmp_path / "mined"), "-o", str(tmp_path / "report.html"))
    assert page.returncode == 0
    html = (tmp_path / "report.html").read_text()
    assert "Thresholds read off the data" in html and f"{threshold:.4f}" in html

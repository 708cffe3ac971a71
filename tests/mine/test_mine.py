"""`cltool mine` on embeddings built to order (the scores are known), against a brute-force reference,
and once end to end with the real model."""

import json
from dataclasses import replace

import numpy as np
import pytest

from cltool.dataset.pairs import text_id
from cltool.errors import InputError, UsageError
from cltool.mine import Settings, mine
from cltool.mine.settings import DEFAULT_WINDOW_END
from tests.conftest import read_dataset, run_cltool, write_jsonl, rejected_of
from tests.vectors import unit

TOP_OF_ALL = dict(range_min=0, sampling="top")  # the hardest first, from rank 0: what a rule does is seen


def brute_force(pairs, docs, settings: Settings, floor=None):
    """Every anchor against every candidate (a full score matrix), the rules applied in plain Python;
    an anchor left short is searched deeper while its window ends at or above `floor`. Per anchor:
    the candidates that pass every rule in its final window, best first."""
    ids = [text_id(p) for p in pairs["positive"]]
    cand_ids, cand_texts, cand_vectors = [], [], []
    for cid, text, vector in list(zip(ids, pairs["positive"], pairs["positive_embedding"])) + list(
            zip(docs["id"], docs["text"], docs["text_embedding"])):
        if cid not in cand_ids:
            cand_ids.append(cid), cand_texts.append(text), cand_vectors.append(vector)
    cand_vectors = unit(np.array(cand_vectors)).astype(np.float32)
    result = {}
    for anchor in dict.fromkeys(pairs["anchor"]):
        rows = [i for i, a in enumerate(pairs["anchor"]) if a == anchor]
        q = unit(pairs["anchor_embedding"][rows[0]]).astype(np.float32)
        positives = [cand_ids.index(ids[i]) for i in rows]
        pos = min(float(q @ unit(pairs["positive_embedding"][i]).astype(np.float32)) for i in rows)
        scores = cand_vectors @ q
        order = sorted(range(len(cand_ids)), key=lambda c: (-scores[c], c))

        def choose(depth):
            chosen = []
            for rank in range(settings.range_min, depth):
                if rank >= len(order):
                    break
                c = order[rank]
                s = scores[c]
                near = max(float(cand_vectors[c] @ cand_vectors[p]) for p in positives)
                if c in positives or cand_texts[c] == anchor:
                    continue
                if settings.near_duplicate is not None and near >= settings.near_duplicate:
                    continue
                if settings.relative_margin is not None and s > pos - abs(pos) * settings.relative_margin:
                    continue
                if settings.max_score is not None and s > settings.max_score:
                    continue
                chosen.append(cand_ids[c])
            return chosen

        depth = settings.range_max or max(settings.range_min + 10 * settings.num_negatives + 2 * len(rows),
                                          DEFAULT_WINDOW_END)
        chosen = choose(depth)
        cap = min(settings.max_window, len(cand_ids))
        def helps(depth):  # the deepest candidate in the window is still above the floor
            return floor is None or float(scores[order[min(depth, len(order)) - 1]]) >= floor

        while settings.range_max is None and len(chosen) < settings.num_negatives and depth < cap and helps(depth):
            depth = min(depth * 4, cap)  # an anchor left short is searched deeper
            chosen = choose(depth)
        result[anchor] = chosen
    return result


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("rules", [dict(), dict(relative_margin=None, near_duplicate=None, max_score=0.6),
                                   dict(relative_margin=0.2, near_duplicate=0.8, range_min=0, sampling="top")])
def test_exact_mining_equals_brute_force(tmp_path, seed, rules, write, random_pairs):
    pairs, docs = random_pairs(seed)
    settings = Settings(num_negatives=4, **rules)
    manifest = mine(write(tmp_path / "pairs", pairs), str(tmp_path / "out"), settings,
                    corpus=[write(tmp_path / "docs", docs)])
    out = read_dataset(tmp_path / "out").to_pylist()
    # an auto threshold is the one the run read off the data (its own test: test_calibration.py)
    expected = brute_force(pairs, docs, replace(settings, near_duplicate=manifest["params"]["near_duplicate"]),
                           manifest["summary"]["calibration"]["deepening_floor"]["threshold"])
    assert len(out) == len(pairs["anchor"])
    for row in out:
        eligible = expected[row["anchor"]]
        if settings.sampling == "top":
            assert row["negative_ids"] == eligible[:settings.num_negatives]
        else:  # random: as many as the window holds, each one of the eligible, none twice
            assert len(row["negative_ids"]) == min(settings.num_negatives, len(eligible))
            assert set(row["negative_ids"]) <= set(eligible)
            assert len(set(row["negative_ids"])) == len(row["negative_ids"])
        assert row["negative_scores"] == sorted(row["negative_scores"], reverse=True)
        assert row["negative_ranks"] == sorted(row["negative_ranks"])
    assert manifest["summary"]["search"]["index"] == "flat"


def test_several_positives_never_come_back_and_margins_use_the_lowest(tmp_path, write):
    # One anchor, three rows: its positives score 0.9, 0.8 and 0.3 with it. Other positives and
    # documents score in between. With a relative margin the bar is 0.3 - 0.015 = 0.285.
    def at(score):  # a unit vector whose cosine with e0 is `score`
        return [score, np.sqrt(1 - score**2), 0.0]
    pairs = {"anchor": ["q", "q", "q", "other"], "positive": ["p1", "p2", "p3", "o1"],
             "anchor_embedding": [[1, 0, 0]] * 3 + [[0, 0, 1]],
             "positive_embedding": [at(0.9), at(0.8), at(0.3), [0.28, 0, 0.96]]}
    docs = {"id": ["d1", "d2", "d3"], "text": ["d1", "d2", "d3"],
            "text_embedding": [[0.6, 0, 0.8], [0.2, 0, 0.98], [0.1, 0.99, 0]]}
    mine(write(tmp_path / "pairs", pairs), str(tmp_path / "out"),
         Settings(num_negatives=5, relative_margin=0.05, near_duplicate=None), corpus=[write(tmp_path / "docs", docs)])
    rows = read_dataset(tmp_path / "out").to_pylist()
    got = rows[0]
    assert got["negatives"] == ["o1", "d2", "d3"]  # d1 scores 0.6, above the bar of the lowest positive
    assert not {"p1", "p2", "p3"} & set(got["negatives"])
    assert all(s < 0.3 - 0.3 * 0.05 for s in got["negative_scores"])
    assert [r["negatives"] for r in rows[:3]] == [got["negatives"]] * 3
    assert [round(r["positive_score"], 3) for r in rows[:3]] == [0.9, 0.8, 0.3]


def test_a_positive_under_another_id_and_a_near_duplicate_are_not_negatives(tmp_path, write):
    pairs = {"anchor": ["q", "r"], "positive": ["The answer.", "Something else"],
             "anchor_embedding": [[1, 0, 0], [0, 1, 0]], "positive_embedding": [[0.9, 0.43, 0], [0, 1, 0]]}
    docs = {"id": ["copy", "reworded", "plain", "q-itself"],
            "text": ["  The   answer. ", "The answer, reworded.", "unrelated", "q"],
            "text_embedding": [[0.9, 0.43, 0], [0.88, 0.45, 0.1], [0.5, 0, 0.86], [1, 0, 0]]}
    args = (write(tmp_path / "pairs", pairs), write(tmp_path / "docs", docs))
    # four texts are too few to read a threshold off (auto): the rule itself, with a cosine
    manifest = mine(args[0], str(tmp_path / "out"), Settings(num_negatives=4, relative_margin=None, near_duplicate=0.95,
                                                                **TOP_OF_ALL), corpus=[args[1]])
    first = read_dataset(tmp_path / "out").to_pylist()[0]
    assert first["negative_ids"] == ["plain", text_id("Something else")]
    removed = manifest["summary"]["removed_by_rule"]
    assert removed["positive_text"] >= 1 and removed["near_duplicate"] >= 1 and removed["anchor"] >= 1
    mine(args[0], str(tmp_path / "loose"), Settings(num_negatives=4, relative_margin=None, near_duplicate=None,
                                                    **TOP_OF_ALL), corpus=[args[1]])
    assert "reworded" in read_dataset(tmp_path / "loose").to_pylist()[0]["negative_ids"]


def test_the_relative_margin_is_sign_safe_end_to_end(tmp_path, write):
    # The positive scores -0.5: (1 - 0.1) x -0.5 = -0.45 would admit a candidate scoring -0.46,
    # closer to the anchor than its positive is. The bar is -0.5 - 0.05 = -0.55.
    def at(score):
        return [score, np.sqrt(1 - score**2)]
    pairs = {"anchor": ["q", "z"], "positive": ["p", "pz"], "anchor_embedding": [[1, 0], [-1, 0]],
             "positive_embedding": [at(-0.5), at(1.0)]}
    docs = {"id": ["a", "b"], "text": ["a", "b"], "text_embedding": [at(-0.46), at(-0.6)]}
    mine(write(tmp_path / "pairs", pairs), str(tmp_path / "out"),
         Settings(num_negatives=3, relative_margin=0.1, near_duplicate=None), corpus=[write(tmp_path / "docs", docs)])
    assert read_dataset(tmp_path / "out").to_pylist()[0]["negative_ids"] == ["b"]


def test_short_anchors_are_kept_and_counted_or_rejected_with_min_negatives(tmp_path, write, random_pairs):
    pairs, docs = random_pairs(0, anchors=20, repeats=0, corpus=0)
    source = write(tmp_path / "pairs", pairs)
    kept = mine(source, str(tmp_path / "kept"), Settings(num_negatives=5, relative_margin=0.3))
    summary = kept["summary"]
    assert kept["rows"] == {"input": 20, "output": 20, "rejected": 0}
    assert summary["anchors_short"] + summary["anchors_without_negatives"] > 0
    strict = mine(source, str(tmp_path / "strict"), Settings(num_negatives=5, relative_margin=0.3, min_negatives=5))
    short = summary["anchors_short"] + summary["anchors_without_negatives"]
    assert strict["rows"] == {"input": 20, "output": 20 - short, "rejected": short}
    rejected = read_dataset(rejected_of(tmp_path / "strict")).to_pylist()
    assert {r["reason"] for r in rejected} == {"too_few_negatives"}
    assert "--min-negatives 5" in rejected[0]["detail"]


def test_unusable_rows_are_rejected_with_a_reason(tmp_path, write):
    pairs = {"anchor": ["q", " ", "r", "s"], "positive": ["a", "b", None, "d"],
             "anchor_embedding": [[1, 0], [0, 1], [1, 1], [np.nan, 1]], "positive_embedding": [[1, 0.1]] * 4}
    manifest = mine(write(tmp_path / "pairs", pairs), str(tmp_path / "out"), Settings(num_negatives=1))
    assert manifest["rows"] == {"input": 4, "output": 1, "rejected": 3}
    assert manifest["rejected_by_reason"] == {"empty_text": 2, "invalid_embedding": 1}


def test_embeddings_of_other_models_are_refused(tmp_path, write, random_pairs):
    pairs, docs = random_pairs(0)
    source = write(tmp_path / "pairs", pairs)
    short = dict(docs, text_embedding=docs["text_embedding"][:, :8])
    with pytest.raises(InputError, match="dimensions"):
        mine(source, str(tmp_path / "out"), corpus=[write(tmp_path / "short", short)])
    made_by = lambda fp: {b"cltool:embedding": json.dumps({"model_id": fp, "model_fingerprint": fp}).encode()}  # noqa: E731
    tagged = write(tmp_path / "tagged", pairs, metadata=made_by("A"))
    with pytest.raises(InputError, match="different weights"):
        mine(tagged, str(tmp_path / "out"), corpus=[write(tmp_path / "docs-b", docs, metadata=made_by("B"))])
    assert not (tmp_path / "out").exists()


def test_bad_settings(tmp_path, write, random_pairs):
    pairs, _ = random_pairs(0)
    source = write(tmp_path / "pairs", pairs)
    for settings, message in ((Settings(num_negatives=0), "at least 1"), (Settings(range_max=2), "fewer than"),
                              (Settings(sampling="hardest"), "--sampling"), (Settings(min_negatives=9), "between")):
        with pytest.raises(UsageError, match=message):
            mine(source, str(tmp_path / "out"), settings)
    with pytest.raises(InputError, match="anchor_embedding"):
        mine(write(tmp_path / "bare", {"anchor": ["a"], "positive": ["b"]}), str(tmp_path / "out"))


def test_cli_end_to_end_with_the_real_model(tmp_path):
    """ingest (a list of positives per query) -> embed (bundled MiniLM) -> mine from a pipe."""
    write_jsonl(tmp_path / "pairs.jsonl", [
        {"query": "how do I sort a list in python", "pos": ["use sorted(xs) to get a new sorted list",
                                                             "xs.sort() sorts the list in place"]},
        {"query": "how do I reverse a list", "pos": ["xs[::-1] is the list reversed"]},
        {"query": "how do I read a file", "pos": ["open(path).read() returns the whole file"]},
        {"query": "how do I join strings", "pos": ["', '.join(parts) joins them with commas"]},
        {"query": "how do I get the length of a list", "pos": ["len(xs) is the number of items"]},
    ])
    write_jsonl(tmp_path / "corpus.jsonl", [{"_id": f"c{i}", "text": t} for i, t in enumerate([
        "Use sorted(xs) to get a new sorted list.", "sorting a list: sorted() or list.sort()",
        "reversed(xs) iterates backwards", "with open(path) as f: data = f.read()", "the weather is nice today"])])
    assert run_cltool("ingest", str(tmp_path / "pairs.jsonl"), "-o", str(tmp_path / "pairs")).returncode == 0
    assert run_cltool("ingest", str(tmp_path / "corpus.jsonl"), "--table", "corpus",
                      "-o", str(tmp_path / "corpus")).returncode == 0
    for name, extra in (("pairs", []), ("corpus", ["--columns", "text"])):
        done = run_cltool("embed", str(tmp_path / name), *extra, "-o", str(tmp_path / f"{name}-emb"))
        assert done.returncode == 0, done.stderr.decode()
    piped = run_cltool("embed", str(tmp_path / "pairs"), "-o", "-")
    result = run_cltool("mine", "-", "--corpus", str(tmp_path / "corpus-emb"), "-n", "3", "--relative-margin",
                        "off", "-o", str(tmp_path / "mined"), "--json", stdin=piped.stdout)
    assert result.returncode == 0, result.stderr.decode()
    report = json.loads(result.stdout)
    assert report["summary"]["anchors"] == 5 and report["rows"]["output"] == 6
    assert "mine: 5 anchors" in result.stderr.decode()
    rows = read_dataset(tmp_path / "mined").to_pylist()
    positives_of = {}
    for row in rows:
        positives_of.setdefault(row["anchor"], set()).add(row["positive"].strip().lower().rstrip("."))
    for row in rows:
        texts = {t.strip().lower().rstrip(".") for t in row["negatives"]}
        assert not texts & positives_of[row["anchor"]], row
        assert len(row["negatives"]) == 3
    sort_row = next(r for r in rows if "sort" in r["anchor"])
    assert "Use sorted(xs) to get a new sorted list." not in sort_row["negatives"]  # a positive, in other case
    bad = run_cltool("mine", str(tmp_path / "pairs"), "-o", str(tmp_path / "never"))
    assert bad.returncode == 2 and "cltool embed" in bad.stderr.decode()
    assert not (tmp_path / "never").exists()


def test_anchors_merged_by_loose_text_are_scored_with_the_vector_searched(tmp_path, write):
    # "Close it." and "close it" are one anchor, searched with the first one's vector; the margin
    # must come from positive scores under that same vector (0.9 and 0.7: bar 0.665), not 0.3.
    pairs = {"anchor": ["Close it.", "close it", "other"], "positive": ["p1", "p2", "p3"],
             "anchor_embedding": [[1, 0, 0], [0.3, np.sqrt(1 - 0.09), 0], [0, 0, 1]],
             "positive_embedding": [[0.9, np.sqrt(1 - 0.81), 0], [0.7, 0, np.sqrt(1 - 0.49)], [0, 0.6, 0.8]]}
    docs = {"id": ["d"], "text": ["d"], "text_embedding": [[0.5, -np.sqrt(0.75), 0]]}
    mine(write(tmp_path / "pairs", pairs), str(tmp_path / "out"), Settings(num_negatives=1, near_duplicate=None,
                                                                               **TOP_OF_ALL),
         corpus=[write(tmp_path / "docs", docs)])
    rows = read_dataset(tmp_path / "out").to_pylist()
    assert [r["negative_ids"] for r in rows[:2]] == [["d"], ["d"]]
    assert [round(r["positive_score"], 3) for r in rows[:2]] == [0.9, 0.7]


def test_an_anchor_with_many_positives_is_searched_deeper_alone(tmp_path, write):
    rng = np.random.default_rng(7)
    others = unit(rng.normal(size=(100, 8)))
    crowd = unit(np.array([1.0] + [0] * 7) + rng.normal(scale=0.05, size=(30, 8)))  # 30 positives of one anchor
    pairs = {"anchor": ["many"] * 30 + [f"q{i}" for i in range(100)],
             "positive": [f"pos of many {i}" for i in range(30)] + [f"p{i}" for i in range(100)],
             "anchor_embedding": np.concatenate([np.tile([[1.0] + [0] * 7], (30, 1)), others]),
             "positive_embedding": np.concatenate([crowd, unit(others + rng.normal(scale=0.3, size=others.shape))])}
    manifest = mine(write(tmp_path / "pairs", pairs), str(tmp_path / "out"),
                    Settings(num_negatives=1, relative_margin=None, near_duplicate=None, **TOP_OF_ALL))
    search = manifest["summary"]["search"]
    assert search["depth"] == DEFAULT_WINDOW_END and search["deeper"] == {"anchors": 1, "depth": 70, "index": "flat"}
    many = next(r for r in read_dataset(tmp_path / "out").to_pylist() if r["anchor"] == "many")
    assert many["negative_ranks"][0] >= 30 and not many["negatives"][0].startswith("pos of many")

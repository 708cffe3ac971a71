"""`cltool filter --pair-judge`: each judge's share on pairs built
to be right or swapped, the vote, the rejected rows and their counts, the options,
the bundled model as a named judge model, and `validate`'s mismatched_pairs check."""

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from cltool.dataset.write import Output
from cltool.errors import UsageError
from cltool.filter import Settings, filter_negatives
from cltool.filter.pair_judges import PAIR_JUDGES, Pairs, PairVectors, parse_pair_judges
from tests.conftest import manifest_of, read_dataset, rejected_of, run_cltool

ALL = ("consistency", "anchor-consistency", "score-outlier")


def embedded_pairs(n: int = 300, swapped: int = 30, dim: int = 32, seed: int = 0):
    """Rows whose positive is its anchor's vector plus a little noise, `swapped` of them given another
    swapped row's positive (a mismatched pair); the anchors' 0 and 1 share both their texts."""
    rng = np.random.default_rng(seed)
    anchors = rng.normal(size=(n, dim)).astype(np.float32)
    positives = anchors + 0.3 * rng.normal(size=(n, dim)).astype(np.float32)
    anchor_texts = [f"question {i}" for i in range(n)]
    positive_texts = [f"answer {i}" for i in range(n)]
    bad = rng.choice(np.arange(2, n), swapped, replace=False)
    moved = np.roll(bad, 1)
    positives[bad], positive_texts = positives[moved], list(positive_texts)
    for b, m in zip(bad.tolist(), moved.tolist()):
        positive_texts[b] = f"answer {m}"
    return anchor_texts, positive_texts, anchors, positives, set(bad.tolist())


def mined_table(path: Path, anchors: list[str], positives: list[str], a_vec, p_vec) -> str:
    dim = a_vec.shape[1]
    table = pa.table({
        "anchor": anchors, "positive": positives,
        "anchor_embedding": pa.FixedSizeListArray.from_arrays(pa.array(a_vec.ravel(), pa.float32()), dim),
        "positive_embedding": pa.FixedSizeListArray.from_arrays(pa.array(p_vec.ravel(), pa.float32()), dim),
        "negatives": pa.array([[f"other text {i}"] for i in range(len(anchors))], pa.list_(pa.string())),
        "negative_scores": pa.array([[0.1]] * len(anchors), pa.list_(pa.float32())),
        "positive_score": pa.array([0.8] * len(anchors), pa.float32()),
    })
    with Output(path, command="test", params={}) as out:
        out.write(table)
    return str(path)


@pytest.fixture
def noisy(tmp_path):
    anchors, positives, a_vec, p_vec, bad = embedded_pairs()
    return mined_table(tmp_path / "mined", anchors, positives, a_vec, p_vec), bad


@pytest.mark.parametrize("name", ALL)
def test_each_judge_puts_swapped_pairs_above_right_ones(name):
    anchors, positives, a_vec, p_vec, bad = embedded_pairs()
    keys_a, keys_p = [hash(a) for a in anchors], [hash(p) for p in positives]
    pairs = Pairs.from_keys(keys_a, keys_p, np.ones(len(anchors), dtype=bool))
    unit = lambda v: v / np.linalg.norm(v, axis=1, keepdims=True)  # noqa: E731
    vectors = PairVectors(np.zeros((len(anchors), 32), np.float32), np.zeros((len(set(positives)), 32), np.float32), {})
    vectors.anchors[pairs.row_anchor] = unit(a_vec)
    vectors.texts[pairs.row_positive] = unit(p_vec)
    verdict = PAIR_JUDGES[name]("", Settings(pair_judges=(name,))).judge(pairs, vectors)
    swapped = np.isin(np.arange(len(anchors)), list(bad))
    assert verdict.shares.dtype == np.float32 and not np.isnan(verdict.shares).any()
    assert verdict.shares[~swapped].max() < 0.05 < np.median(verdict.shares[swapped])
    assert (verdict.flags == (verdict.shares > 0.05)).all()


def test_filter_rejects_the_rows_both_consistency_judges_flag(tmp_path, noisy):
    source, bad = noisy
    settings = Settings(judges=("lexical",), pair_judges=("consistency", "anchor-consistency"))
    manifest = filter_negatives(source, str(tmp_path / "out"), settings)
    kept, rejected = read_dataset(tmp_path / "out"), read_dataset(rejected_of(tmp_path / "out"))
    swapped_texts = {f"question {b}" for b in bad}
    found = rejected.column("anchor").to_pylist()
    assert set(rejected.column("reason").to_pylist()) == {"mismatched_pair"}
    assert len(found) >= 0.9 * len(bad) and sum(a in swapped_texts for a in found) >= 0.9 * len(found)
    detail = rejected.column("detail")[0].as_py()
    assert detail.startswith("consistency: ") and "anchor-consistency: " in detail
    for table in (kept, rejected):  # every row keeps both shares
        for column in ("positive_outscored_share", "anchor_outscored_share"):
            assert table.column(column).null_count == 0
    assert manifest["rows"] == {"input": 300, "output": kept.num_rows, "rejected": rejected.num_rows}
    assert manifest["rejected_by_reason"] == {"mismatched_pair": rejected.num_rows}
    pairs = manifest["summary"]["pairs"]
    assert pairs["judged"] == 300 and pairs["removed"] == rejected.num_rows and pairs["vote"] == "all"
    assert pairs["flagged_by_judge"]["consistency"] >= pairs["removed"]
    assert pairs["shares"]["consistency"]["count"] == 300
    assert pairs["vectors"]["input"]["from"] == "the input's embedding columns"
    assert manifest["params"]["pair_judges"] == ["consistency", "anchor-consistency"]


def test_the_vote_and_the_share_decide(tmp_path, noisy):
    source, _ = noisy
    removed = {}
    for name, settings in {"all": Settings(judges=("lexical",), pair_judges=ALL),
                           "any": Settings(judges=("lexical",), pair_judges=ALL, pair_vote="any"),
                           "loose": Settings(judges=("lexical",), pair_judges=ALL, mismatch_share=0.5)}.items():
        removed[name] = filter_negatives(source, str(tmp_path / name), settings)["summary"]["pairs"]["removed"]
    assert removed["any"] >= removed["all"] > removed["loose"]
    # off by default: no pair is judged, no share column is written
    manifest = filter_negatives(source, str(tmp_path / "default"), Settings(judges=("lexical",)))
    assert "pairs" not in manifest["summary"] and manifest["rows"]["rejected"] == 0
    assert "positive_outscored_share" not in read_dataset(tmp_path / "default").column_names


def test_a_second_filter_replaces_the_share_columns(tmp_path, noisy):
    source, _ = noisy
    filter_negatives(source, str(tmp_path / "once"), Settings(judges=("lexical",), pair_judges=("consistency",)))
    filter_negatives(str(tmp_path / "once"), str(tmp_path / "twice"),
                     Settings(judges=("lexical",), pair_judges=("consistency",)))
    names = read_dataset(tmp_path / "twice").column_names
    assert names.count("positive_outscored_share") == 1


def test_options_are_checked_before_any_work(tmp_path, noisy):
    source, _ = noisy
    for settings, message in [
        (Settings(pair_judges=("consistency", "anchor-consistency"), pair_vote="3"), "--pair-vote 3 asks more"),
        (Settings(pair_judges=("consistency",), pair_vote="most"), "--pair-vote takes any, all or a number"),
        (Settings(pair_judges=("consistency",), mismatch_share=1.0), "--mismatch-share must lie in [0, 1)"),
        (Settings(pair_judges=("nearness",)), "unknown pair judge 'nearness'"),
        (Settings(pair_judges=("consistency", "consistency")), "each pair judge may be given once"),
        (Settings(mismatch_share=0.1), "--mismatch-share is read by the pair judges"),
        (Settings(pair_vote="any"), "--pair-vote is read by the pair judges"),
    ]:
        with pytest.raises(UsageError, match=message.replace("[", r"\[").replace(")", r"\)")):
            filter_negatives(source, str(tmp_path / "out"), settings)
        assert not (tmp_path / "out").exists()
    assert parse_pair_judges(["none"]) == []
    assert parse_pair_judges(["Consistency:some/model"]) == [("consistency", "some/model")]


def test_without_embeddings_a_judge_needs_a_model(tmp_path):
    table = pa.table({"anchor": ["a", "b"], "positive": ["x", "y"],
                      "negatives": pa.array([["z"], ["w"]], pa.list_(pa.string()))})
    with Output(tmp_path / "mined", command="test", params={}) as out:
        out.write(table)
    with pytest.raises(UsageError, match="no anchor_embedding or positive_embedding column"):
        filter_negatives(str(tmp_path / "mined"), str(tmp_path / "out"),
                         Settings(judges=("lexical",), pair_judges=("consistency",)))


def test_the_cli_with_the_bundled_model_named_and_validate_checks_the_rate(tmp_path):
    """A judge with a model embeds the pairs itself (here the bundled one, by name), through the cache."""
    topics = ["sort a list", "read a file", "parse json", "open a socket", "format a date", "hash a string",
              "copy a tree", "match a regex", "spawn a process", "zip two lists", "send an email", "resize an image"]
    rows = [{"anchor": f"how do I {t} in python", "positive": f"To {t} in Python, use the standard library.",
             "negatives": ["Bake the bread for forty minutes."]} for t in topics]
    rows[0]["positive"], rows[1]["positive"] = rows[1]["positive"], rows[0]["positive"]
    (tmp_path / "pairs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert run_cltool("ingest", str(tmp_path / "pairs.jsonl"), "-o", str(tmp_path / "mined"), "-q").returncode == 0
    result = run_cltool("filter", str(tmp_path / "mined"), "--pair-judge", "consistency:default", "--pair-judge",
                        "anchor-consistency:default", "-o", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "2 removed as mismatched" in result.stderr.decode()
    rejected = read_dataset(rejected_of(tmp_path / "out"))
    assert sorted(rejected.column("anchor").to_pylist()) == ["how do I read a file in python",
                                                             "how do I sort a list in python"]
    assert manifest_of(tmp_path / "out")["summary"]["pairs"]["vectors"]["default"]["model_id"]
    # validate reads the rate the filter removed (no embeddings here) and holds it to a limit
    checked = run_cltool("validate", str(tmp_path / "out"), "--limit", "max_mismatched_pairs=0.1", "--json")
    check = next(c for c in json.loads(checked.stdout)["checks"] if c["name"] == "mismatched_pairs")
    assert checked.returncode == 1 and check["status"] == "fail" and check["value"] == pytest.approx(2 / 12, abs=1e-4)


def test_validate_judges_embedded_pairs_itself(tmp_path, noisy):
    source, bad = noisy
    loose = run_cltool("validate", source, "--json")
    check = next(c for c in json.loads(loose.stdout)["checks"] if c["name"] == "mismatched_pairs")
    assert check["status"] == "pass" and check["limit"] == 1.0  # no limit unless one is set
    assert 0.9 * len(bad) / 300 <= check["value"] <= 1.1 * len(bad) / 300
    strict = run_cltool("validate", source, "--limit", "max_mismatched_pairs=0.02", "--json")
    check = next(c for c in json.loads(strict.stdout)["checks"] if c["name"] == "mismatched_pairs")
    assert strict.returncode == 1 and check["status"] == "fail"
    assert {"consistency", "anchor-consistency"} <= set(check["examples"][0])


def test_report_shows_the_pair_signals(tmp_path, noisy):
    from cltool.report.page import report

    source, _ = noisy
    manifest = filter_negatives(source, str(tmp_path / "out"),
                                Settings(judges=("lexical",), pair_judges=("consistency", "anchor-consistency")))
    report(str(tmp_path / "out"), str(tmp_path / "page.html"))
    page = (tmp_path / "page.html").read_text()
    removed = manifest["summary"]["pairs"]["removed"]
    assert "<h2>Pair signals</h2>" in page and f"<b>{removed:,}</b>" in page and 'data-plot="pair_shares"' in page

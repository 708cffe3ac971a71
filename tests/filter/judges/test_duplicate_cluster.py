"""`--judge duplicate-cluster` (cltool/filter/judges/duplicate_cluster.py): MinHash clusters, or a
dedup output's links (--clusters-from)."""

from pathlib import Path

import pyarrow as pa

from cltool.dataset.write import Output
from cltool.filter import Settings, filter_negatives
from tests.conftest import read_dataset, rejected_of, removed_negatives_of, run_cltool
from tests.filter.conftest import LONG, ROWS, mined_table


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

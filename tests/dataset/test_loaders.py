"""The loaders people already use read a cltool dataset folder as its kept rows, and nothing else.

A folder holds its shards only; the manifest and the removed rows lie beside it. Each test runs the
real `cltool` on real files and loads the output the way the loader's own documentation does.
"""

from __future__ import annotations

import pytest

from tests.conftest import read_dataset, rejected_of, run_cltool, write_jsonl

ROWS = 40
COPIES = 6  # rows that repeat an earlier one: dedup removes them, and no loader may bring them back


@pytest.fixture(scope="module")
def deduped(tmp_path_factory):
    folder = tmp_path_factory.mktemp("loaders")
    rows = [{"anchor": f"how do I do task {i}?", "positive": f"you do task {i} with tool {i % 7} and care"}
            for i in range(ROWS)]
    rows += rows[:COPIES]
    write_jsonl(folder / "pairs.jsonl", rows)
    for args in (("ingest", str(folder / "pairs.jsonl"), "-o", str(folder / "pairs")),
                 ("dedup", str(folder / "pairs"), "--method", "exact", "-o", str(folder / "deduped"))):
        done = run_cltool(*args)
        assert done.returncode == 0, done.stderr.decode()
    kept = read_dataset(folder / "deduped")
    assert kept.num_rows == ROWS and read_dataset(rejected_of(folder / "deduped")).num_rows == COPIES
    return folder / "deduped", kept


def _same_rows(loaded_anchors: list[str], kept) -> None:
    assert sorted(loaded_anchors) == sorted(kept.column("anchor").to_pylist())


def test_hugging_face_datasets_reads_the_kept_rows(deduped, tmp_path):
    datasets = pytest.importorskip("datasets")
    folder, kept = deduped
    datasets.disable_progress_bars()
    for loaded in (datasets.load_dataset(str(folder), cache_dir=str(tmp_path / "hf")),
                   datasets.load_dataset("parquet", data_dir=str(folder), cache_dir=str(tmp_path / "hf")),
                   datasets.load_dataset("parquet", data_files=f"{folder}/*.parquet", cache_dir=str(tmp_path / "hf"))):
        assert list(loaded) == ["train"]
        _same_rows(loaded["train"]["anchor"], kept)


def test_polars_reads_the_kept_rows(deduped):
    import polars as pl

    folder, kept = deduped
    _same_rows(pl.read_parquet(folder)["anchor"].to_list(), kept)
    _same_rows(pl.scan_parquet(folder).collect()["anchor"].to_list(), kept)
    _same_rows(pl.read_parquet(f"{folder}/*.parquet")["anchor"].to_list(), kept)


def test_pandas_reads_the_kept_rows(deduped):
    pandas = pytest.importorskip("pandas")
    folder, kept = deduped
    _same_rows(pandas.read_parquet(folder)["anchor"].tolist(), kept)


def test_pyarrow_dataset_reads_the_kept_rows(deduped):
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    folder, kept = deduped
    _same_rows(ds.dataset(folder, format="parquet").to_table().column("anchor").to_pylist(), kept)
    _same_rows(pq.read_table(folder).column("anchor").to_pylist(), kept)


def test_duckdb_reads_the_kept_rows(deduped):
    duckdb = pytest.importorskip("duckdb")
    folder, kept = deduped
    rows = duckdb.sql(f"SELECT anchor FROM read_parquet('{folder}/*.parquet')").fetchall()
    _same_rows([r[0] for r in rows], kept)


def test_the_removed_rows_are_a_folder_every_loader_reads_too(deduped):
    import polars as pl

    folder, _ = deduped
    removed = pl.read_parquet(rejected_of(folder))
    assert removed.height == COPIES and set(removed["reason"]) == {"exact_duplicate"}

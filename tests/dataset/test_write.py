import io
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pytest

from cltool.dataset import Output, open_dataset
from cltool.dataset.manifest import file_sha256
from cltool.errors import CltoolError, InputError, UsageError
from tests.conftest import read_dataset


def test_round_trip_manifest_and_sha256(tmp_path):
    table = pa.table({"anchor": [f"a{i}" for i in range(25)], "n": list(range(25))})
    with Output(tmp_path / "out", command="test", params={"seed": 7}, argv=["cltool", "test"], rows_per_shard=10) as out:
        out.count_input(25)
        with out.stage("write"):
            out.write(table)
    assert read_dataset(tmp_path / "out").equals(table)
    manifest = json.loads((tmp_path / "out.manifest.json").read_text())
    assert manifest["params"] == {"seed": 7} and manifest["argv"] == ["cltool", "test"]
    assert manifest["rows"] == {"input": 25, "output": 25, "rejected": 0}
    assert [o["rows"] for o in manifest["outputs"]] == [10, 10, 5]
    for o in manifest["outputs"]:
        assert o["sha256"] == file_sha256(tmp_path / "out" / o["path"])
    assert "write" in manifest["stages"] and manifest["wall_time_s"] >= 0
    # the directory holds the rows only: every loader reads it as the kept rows; the rest lies beside it
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "out", "out.manifest.json", "out.rejected", "out.rejected.manifest.json"]
    assert manifest["rejected_dataset"] == "out.rejected"
    # nothing rejected is still a dataset of its own: the schema plus reason and detail, no rows
    rejected = open_dataset(tmp_path / "out.rejected")
    assert rejected.num_rows == 0 and rejected.schema.names == ["anchor", "n", "reason", "detail"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_rejected_rows_are_a_dataset_and_counts_add_up(tmp_path):
    rows = pa.table({"anchor": ["a", "b", "c", "d"]})
    with Output(tmp_path / "out", command="test", params={}) as out:
        out.count_input(4)
        out.write(rows.slice(0, 2))
        out.reject(rows.slice(2, 1), reason="empty_text", detail="anchor is blank")
        out.reject(rows.slice(3, 1).append_column("reason", pa.array(["near_duplicate"]))
                   .append_column("detail", pa.array(["of a"])))
    manifest = json.loads((tmp_path / "out.manifest.json").read_text())
    assert manifest["rows"] == {"input": 4, "output": 2, "rejected": 2}
    assert manifest["rejected_by_reason"] == {"empty_text": 1, "near_duplicate": 1}
    rejected = read_dataset(tmp_path / "out.rejected")
    assert rejected.column("reason").to_pylist() == ["empty_text", "near_duplicate"]
    assert rejected.column("detail").to_pylist() == ["anchor is blank", "of a"]
    assert open_dataset(tmp_path / "out.rejected").manifest["rows"]["output"] == 2


def test_counts_that_do_not_add_up_fail_and_leave_nothing(tmp_path):
    with pytest.raises(CltoolError, match="does not add up"):
        with Output(tmp_path / "out", command="test", params={}) as out:
            out.count_input(3)
            out.write(pa.table({"a": [1]}))
    assert list(tmp_path.iterdir()) == []


def test_an_exception_leaves_the_old_output_untouched(tmp_path):
    with Output(tmp_path / "out", command="test", params={"v": 1}) as out:
        out.write(pa.table({"a": [1]}))
    with pytest.raises(RuntimeError):
        with Output(tmp_path / "out", command="test", params={"v": 2}) as out:
            out.write(pa.table({"a": [2]}))
            raise RuntimeError("boom")
    assert read_dataset(tmp_path / "out").column("a").to_pylist() == [1]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "out", "out.manifest.json", "out.rejected", "out.rejected.manifest.json"]
    with Output(tmp_path / "out", command="test", params={"v": 3}) as out:
        out.write(pa.table({"a": [3]}))
    assert read_dataset(tmp_path / "out").column("a").to_pylist() == [3]


def test_refuses_to_replace_what_is_not_a_dataset(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("precious")
    with pytest.raises(UsageError, match="refusing to replace"):
        with Output(tmp_path / "mine", command="test", params={}) as out:
            out.write(pa.table({"a": [1]}))
    assert (tmp_path / "mine" / "notes.txt").read_text() == "precious"


def test_empty_output_still_has_a_schema(tmp_path):
    with Output(tmp_path / "out", command="test", params={}) as out:
        out.count_input(1)
        out.write(pa.table({"a": pa.array([], pa.int64())}))
        out.reject(pa.table({"a": [1]}), reason="empty_text")
    ds = open_dataset(tmp_path / "out")
    assert ds.num_rows == 0 and ds.schema.names == ["a"]


def test_same_input_gives_byte_identical_shards(tmp_path):
    table = pa.table({"t": [f"text {i}" for i in range(1000)], "x": [i / 3 for i in range(1000)]})
    for name in ("one", "two"):
        with Output(tmp_path / name, command="test", params={}) as out:
            out.write(table)
    assert (tmp_path / "one" / "part-00000.parquet").read_bytes() == (tmp_path / "two" / "part-00000.parquet").read_bytes()


def test_rejected_target_must_not_clash_with_the_output(tmp_path):
    for rejected in (tmp_path / "out", tmp_path / "out" / "rejected", tmp_path):
        with pytest.raises(UsageError, match="must lie outside the output"):
            with Output(tmp_path / "out", command="test", params={}, rejected_target=rejected) as out:
                out.write(pa.table({"a": [1]}))
    (tmp_path / "afile").write_text("x")
    with pytest.raises(UsageError, match="exists and is a file") as err:
        with Output(tmp_path / "out", command="test", params={}, rejected_target=tmp_path / "afile") as out:
            out.write(pa.table({"a": [1]}))
    assert "--rejected" in err.value.hint
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_a_rerun_with_nothing_rejected_replaces_the_old_rejected_rows(tmp_path):
    for rejected_rows in ([7], []):
        with Output(tmp_path / "out", command="test", params={}, rejected_target=tmp_path / "rej") as out:
            out.write(pa.table({"a": [1]}))
            out.reject(pa.table({"a": pa.array(rejected_rows, pa.int64())}), reason="empty_text")
    assert read_dataset(tmp_path / "rej").num_rows == 0


def test_stdout_stream_and_rejected_elsewhere(tmp_path):
    sink = io.BytesIO()
    with Output("-", command="test", params={}, stdout=sink, rejected_target=tmp_path / "rej") as out:
        out.write(pa.table({"a": [1, 2]}))
        out.reject(pa.table({"a": [3]}), reason="empty_text")
    assert pa.ipc.open_stream(sink.getvalue()).read_all().column("a").to_pylist() == [1, 2]
    assert pa.Table.from_batches(list(open_dataset("-", stdin=io.BytesIO(sink.getvalue())).batches())).num_rows == 2
    assert read_dataset(tmp_path / "rej").column("reason").to_pylist() == ["empty_text"]
    assert out.manifest["rows"] == {"input": 3, "output": 2, "rejected": 1}


SLOW_WRITER = textwrap.dedent("""
    import sys, time
    import pyarrow as pa
    from cltool.dataset import Output
    with Output(sys.argv[1], command="test", params={}, rows_per_shard=10) as out:
        for i in range(1000):
            out.write(pa.table({"a": list(range(10))}))
            if i == 3:
                print("ready", flush=True)
            time.sleep(0.05)
""")


def test_a_killed_writer_leaves_the_old_output_or_none(tmp_path):
    def kill_midway(target):
        proc = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(target)], stdout=subprocess.PIPE,
                                cwd=os.getcwd())
        assert proc.stdout.readline().strip() == b"ready"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

    kill_midway(tmp_path / "fresh")
    assert not (tmp_path / "fresh").exists()

    with Output(tmp_path / "old", command="test", params={}) as out:
        out.write(pa.table({"a": [42]}))
    kill_midway(tmp_path / "old")
    assert read_dataset(tmp_path / "old").column("a").to_pylist() == [42]

    # the next run clears the debris the killed one left beside the target
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    with Output(tmp_path / "fresh", command="test", params={}) as out:
        out.write(pa.table({"a": [1]}))
    with Output(tmp_path / "old", command="test", params={}) as out:
        out.write(pa.table({"a": [1]}))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_cltool_stream_that_breaks_off_is_refused(tmp_path):
    sink = io.BytesIO()
    with Output("-", command="test", params={}, stdout=sink) as out:
        out.write(pa.table({"a": list(range(100))}))
        out.write(pa.table({"a": list(range(100))}))
    whole = sink.getvalue()
    assert len(list(open_dataset("-", stdin=io.BytesIO(whole)).batches())) >= 2
    # a writer that died after its first batch: the pipe shows a clean end of file all the same
    first = io.BytesIO()
    schema = pa.schema([("a", pa.int64())], metadata={"cltool": "0.1.0"})
    with pa.ipc.new_stream(first, schema) as w:
        w.write_table(pa.table({"a": [1]}, schema=schema))
    with pytest.raises(InputError, match="ended before the cltool writing it had finished"):
        list(open_dataset("-", stdin=io.BytesIO(first.getvalue())).batches())
    # a stream from another Arrow program (no cltool mark) is read as it is
    plain = io.BytesIO()
    with pa.ipc.new_stream(plain, pa.schema([("a", pa.int64())])) as w:
        w.write_table(pa.table({"a": [1]}))
    assert open_dataset("-", stdin=io.BytesIO(plain.getvalue())).batches().__next__().num_rows == 1


def test_an_output_is_replaced_in_one_step_and_a_file_appears_whole(tmp_path):
    """The new output takes the old one's place in one rename (a kill finds old or new, never neither),
    and report's page and validate's JUnit file are written under a temporary name, then renamed."""
    from cltool.dataset.write import exchange, write_file_atomically

    (tmp_path / "a").mkdir()
    (tmp_path / "b").write_text("b")
    assert exchange(tmp_path / "a", tmp_path / "b") and (tmp_path / "a").read_text() == "b"
    assert not exchange(tmp_path / "missing", tmp_path / "b")
    for value in (1, 2):
        with Output(tmp_path / "out", command="test", params={}) as out:
            out.write(pa.table({"a": [value]}))
    assert read_dataset(tmp_path / "out").column("a").to_pylist() == [2]
    beside = ["out", "out.manifest.json", "out.rejected", "out.rejected.manifest.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", *beside]
    (tmp_path / ".page.html.cltool-tmp-4194999").write_text("a dead writer's half page")
    write_file_atomically(tmp_path / "page.html", "<p>whole</p>")
    assert (tmp_path / "page.html").read_text() == "<p>whole</p>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", *beside, "page.html"]


def test_a_run_that_dies_while_putting_its_output_in_place_leaves_the_old_one_or_none(tmp_path, monkeypatch):
    """The old manifest is retired before any directory is swapped, and the new one placed after all
    of them: a death in between leaves an output that reads as unfinished (never new rows under the old
    manifest), which the next run replaces."""
    from cltool.dataset import write

    with Output(tmp_path / "out", command="test", params={"v": 1}) as out:
        out.write(pa.table({"a": [1]}))
        out.reject(pa.table({"a": [9]}), reason="empty_text")
    swap = write._AtomicDirectory.swap
    swaps = []

    def dies_on_the_second(self):
        swaps.append(self.final.name)
        if len(swaps) == 2:
            raise KeyboardInterrupt
        swap(self)

    monkeypatch.setattr(write._AtomicDirectory, "swap", dies_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        with Output(tmp_path / "out", command="test", params={"v": 2}) as out:
            out.write(pa.table({"a": [2]}))
    assert swaps == ["out.rejected", "out"]
    with pytest.raises(InputError, match="unfinished"):
        open_dataset(tmp_path / "out")
    monkeypatch.setattr(write._AtomicDirectory, "swap", swap)
    with Output(tmp_path / "out", command="test", params={"v": 3}) as out:
        out.write(pa.table({"a": [3]}))
    assert read_dataset(tmp_path / "out").column("a").to_pylist() == [3]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]

    # a death inside a swap, even one that happens after the rename, never puts the old manifests back
    rmtree = write.shutil.rmtree

    def dies_removing_the_old_copy(path, *args, **kwargs):
        if ".cltool-" in str(path) and Path(path).exists() and not str(path).endswith("-tmp-0"):
            raise KeyboardInterrupt
        return rmtree(path, *args, **kwargs)

    monkeypatch.setattr(write.shutil, "rmtree", dies_removing_the_old_copy)
    with pytest.raises(KeyboardInterrupt):
        with Output(tmp_path / "out", command="test", params={"v": 4}) as out:
            out.write(pa.table({"a": [4]}))
            out.reject(pa.table({"a": [8, 9]}), reason="empty_text")
    monkeypatch.setattr(write.shutil, "rmtree", rmtree)
    for where in (tmp_path / "out", tmp_path / "out.rejected"):  # unfinished, or whole and new: never mixed
        try:
            manifest = open_dataset(where).manifest
        except InputError:
            continue
        assert manifest["params"] == {"v": 4}

    # a death while retiring the old manifests (before any swap) puts them back: the old output reads whole
    with Output(tmp_path / "out", command="test", params={"v": 5}) as out:
        out.write(pa.table({"a": [5]}))
    retire = write._AtomicDirectory.retire
    retired = []

    def dies_on_the_second_retire(self):
        retired.append(self.final.name)
        if len(retired) == 2:
            raise KeyboardInterrupt
        retire(self)

    monkeypatch.setattr(write._AtomicDirectory, "retire", dies_on_the_second_retire)
    with pytest.raises(KeyboardInterrupt):
        with Output(tmp_path / "out", command="test", params={"v": 6}) as out:
            out.write(pa.table({"a": [6]}))
    assert retired == ["out", "out.rejected"]
    assert read_dataset(tmp_path / "out").column("a").to_pylist() == [5]
    assert open_dataset(tmp_path / "out").manifest["params"] == {"v": 5}


def test_a_dataset_of_the_old_layout_still_reads(tmp_path):
    """Format 1 kept the manifest, the rejected rows and the parts inside the directory."""
    import pyarrow.parquet as pq

    from cltool.dataset.manifest import part_path, rejected_path

    old = tmp_path / "old"
    (old / "_rejected").mkdir(parents=True)
    (old / "_corpus").mkdir()
    for where, table in ((old, pa.table({"a": [1, 2]})), (old / "_rejected", pa.table({"a": [3], "reason": ["x"]})),
                         (old / "_corpus", pa.table({"id": ["c"]}))):
        pq.write_table(table, where / "part-00000.parquet")
        manifest = {"format": "cltool-dataset/1", "command": "test", "rows": {"output": table.num_rows},
                    "outputs": [{"path": "part-00000.parquet", "rows": table.num_rows}]}
        if where == old:
            manifest.update(rejected_dataset="_rejected", side_datasets=["_corpus"])
        (where / "_manifest.json").write_text(json.dumps(manifest))
    dataset = open_dataset(old)
    assert read_dataset(old).column("a").to_pylist() == [1, 2]
    assert rejected_path(old, dataset.manifest) == old / "_rejected"
    assert read_dataset(rejected_path(old, dataset.manifest)).column("reason").to_pylist() == ["x"]
    assert read_dataset(part_path(old, dataset.manifest, "_corpus")).column("id").to_pylist() == ["c"]
    # and a new run replaces it whole, in the new layout
    with Output(old, command="test", params={}) as out:
        out.write(pa.table({"a": [5]}))
    assert sorted(p.name for p in old.iterdir()) == ["part-00000.parquet"]
    assert read_dataset(old).column("a").to_pylist() == [5]


def test_vectors_are_written_without_dictionary_and_every_other_column_with(tmp_path):
    """Dictionary encoding is tried on every column but vector ones (floats rarely repeat: trying
    was half of writing 135k embeddings), nested columns' leaves included."""
    import numpy as np
    import pyarrow.parquet as pq

    vectors = pa.FixedSizeListArray.from_arrays(pa.array(np.ones(40, dtype=np.float32)), 4)
    table = pa.table({"anchor": ["a", "b"] * 5, "negatives": [["x", "y"]] * 10, "anchor_embedding": vectors,
                      "meta": [{"source": "s"}] * 10})
    with Output(tmp_path / "out", command="test", params={}) as out:
        out.count_input(10)
        out.write(table)
    metadata = pq.ParquetFile(next((tmp_path / "out").glob("*.parquet"))).metadata.row_group(0)
    encodings = {metadata.column(i).path_in_schema: metadata.column(i).encodings for i in range(metadata.num_columns)}
    assert set(encodings) == {"anchor", "negatives.list.element", "anchor_embedding.list.element", "meta.source"}
    for path, used in encodings.items():
        assert ("RLE_DICTIONARY" in used) == (path != "anchor_embedding.list.element"), (path, used)
    assert read_dataset(tmp_path / "out").equals(table)

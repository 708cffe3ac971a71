import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cltool.dataset import Output, open_dataset
from cltool.errors import InputError


def make_dataset(path, tables, **kw):
    with Output(path, command="test", params={}, **kw) as out:
        for t in tables:
            out.write(t)
    return path


def test_directory_file_glob_and_stdin_read_the_same_rows(tmp_path):
    table = pa.table({"a": list(range(10)), "b": [str(i) for i in range(10)]})
    make_dataset(tmp_path / "ds", [table.slice(0, 4), table.slice(4)], rows_per_shard=3)
    as_dir = open_dataset(tmp_path / "ds")
    assert len(as_dir.files) == 4 and as_dir.num_rows == 10
    assert pa.Table.from_batches(list(as_dir.batches())).equals(table)

    single = open_dataset(tmp_path / "ds" / "part-00000.parquet")
    assert single.num_rows == 3 and single.manifest is None
    globbed = open_dataset(str(tmp_path / "ds" / "part-*.parquet"))
    assert globbed.num_rows == 10

    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    stream = open_dataset("-", stdin=io.BytesIO(sink.getvalue()))
    assert stream.num_rows is None
    assert pa.Table.from_batches(list(stream.batches())).equals(table)
    assert stream.num_rows == 10
    with pytest.raises(InputError, match="only once"):
        list(stream.batches())


def test_batches_are_bounded_by_batch_rows(tmp_path):
    table = pa.table({"a": list(range(1000))})
    make_dataset(tmp_path / "ds", [table])
    sizes = [b.num_rows for b in open_dataset(tmp_path / "ds").batches(batch_rows=128)]
    assert max(sizes) <= 128 and sum(sizes) == 1000


def test_directory_without_manifest_is_refused_with_the_reason(tmp_path):
    (tmp_path / "half").mkdir()
    pq.write_table(pa.table({"a": [1]}), tmp_path / "half" / "part-00000.parquet")
    with pytest.raises(InputError) as err:
        open_dataset(tmp_path / "half")
    assert "half.manifest.json" in err.value.message and "unfinished" in err.value.message
    assert "*.parquet" in err.value.hint
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="not a dataset"):
        open_dataset(tmp_path / "empty")


def test_missing_path_and_empty_glob(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        open_dataset(tmp_path / "nope.parquet")
    with pytest.raises(InputError, match="no file matches"):
        open_dataset(str(tmp_path / "*.parquet"))


def test_truncated_parquet_is_refused_before_reading(tmp_path):
    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"a": list(range(100))}), good)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(good.read_bytes()[:-20])
    with pytest.raises(InputError, match="not a readable Parquet file"):
        open_dataset(bad)
    text = tmp_path / "text.parquet"
    text.write_text('{"anchor": "x"}\n')
    with pytest.raises(InputError) as err:
        open_dataset(text)
    assert "cltool ingest" in err.value.hint


def test_corrupt_page_is_named_while_streaming(tmp_path):
    path = tmp_path / "c.parquet"
    pq.write_table(pa.table({"a": [f"text number {i}" * 20 for i in range(2000)]}), path, compression="zstd")
    data = bytearray(path.read_bytes())
    page = pq.read_metadata(path).row_group(0).column(0).data_page_offset  # the footer stays intact
    data[page:page + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    ds = open_dataset(path)
    with pytest.raises(InputError, match="corrupt or truncated"):
        list(ds.batches())


def test_shards_with_different_schemas_are_refused(tmp_path):
    pq.write_table(pa.table({"a": [1]}), tmp_path / "x1.parquet")
    pq.write_table(pa.table({"a": ["1"]}), tmp_path / "x2.parquet")
    with pytest.raises(InputError, match="different schemas"):
        open_dataset(str(tmp_path / "x*.parquet"))


def test_missing_columns_are_named(tmp_path):
    make_dataset(tmp_path / "ds", [pa.table({"a": [1]})])
    with pytest.raises(InputError, match="no column 'b'.*columns found: a"):
        list(open_dataset(tmp_path / "ds").batches(columns=["b"]))


def test_stdin_that_is_not_arrow():
    with pytest.raises(InputError, match="not an Arrow IPC stream"):
        open_dataset("-", stdin=io.BytesIO(b'{"anchor": 1}\n'))

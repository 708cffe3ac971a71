"""Readers for the formats people keep their pairs in, each a stream of Arrow tables.

A reader has `source` (what the user gave), `schema`, `tables()`, `describe_inputs()` and
`manifest`, like `cltool.dataset.Dataset`, so ingest treats all of them alike. JSONL and CSV may be
gzip-compressed (`.gz`).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from pathlib import Path
from typing import IO, Any, Iterator

import pyarrow as pa
import pyarrow.csv as pacsv

from cltool.dataset.manifest import file_sha256
from cltool.dataset.read import Dataset, open_dataset
from cltool.errors import InputError
from cltool.step import require_rows

CHUNK_ROWS = 20_000
FORMATS = ("auto", "jsonl", "csv", "tsv", "parquet", "beir")


def _open_binary(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _bare_suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def detect_format(spec: str | pa.Table) -> str:
    if isinstance(spec, pa.Table) or spec == "-":  # a table in memory reads like a dataset
        return "parquet"  # an Arrow stream of a cltool table, read like a dataset
    path = Path(spec)
    if path.is_dir():
        if (path / "corpus.jsonl").is_file() or (path / "corpus.jsonl.gz").is_file():
            return "beir"
        return "parquet"
    suffix = _bare_suffix(path)
    by_suffix = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv",
                 ".parquet": "parquet", ".pq": "parquet"}
    if suffix in by_suffix:
        return by_suffix[suffix]
    if not path.exists() and not set("*?[") & set(spec):
        raise InputError(f"{spec} does not exist", hint="give a file, a BEIR folder, a dataset directory or -")
    if set("*?[") & set(spec):
        return "parquet"
    raise InputError(f"cannot tell the format of {spec} from its name",
                     hint=f"pass --format, one of: {', '.join(FORMATS[1:])}")


class _FileSource:
    manifest: dict[str, Any] | None = None

    def __init__(self, path: Path, source: str | None = None):
        """`source`: what the user gave, when `path` is not it (`-`: stdin spooled to `path`)."""
        if not path.is_file():
            raise InputError(f"{path} does not exist" if not path.exists() else f"{path} is not a file",
                             hint="check the path")
        self.path = path
        self.source = source or str(path)
        self.label = "stdin" if self.source == "-" else self.source  # how messages name it

    def describe_inputs(self) -> list[dict[str, Any]]:
        return [{"path": self.source, "rows": self.rows, "bytes": self.path.stat().st_size,
                 "sha256": file_sha256(self.path)}]


# -- JSONL ------------------------------------------------------------------------------------
_SCALARS = {str: "text", bool: "bool", int: "int", float: "float"}
_INT64 = (-(2**63), 2**63 - 1)
_TEXT_OR_TEXT_LISTS = {"text", "list:text", "list:empty"}


def _kind(value: Any) -> str | None:
    if value is None:
        return None
    kind = _SCALARS.get(type(value))
    if kind == "int" and not _INT64[0] <= value <= _INT64[1]:
        return "bigint"  # kept as its digits: Arrow has no wider integer
    if kind is not None:
        return kind
    if isinstance(value, list):
        inner = {_kind(v) for v in value} - {None}
        return "list:" + ("+".join(sorted(inner)) if inner else "empty")
    return "object"


def _resolve_type(kinds: set[str]) -> pa.DataType | None:
    """The Arrow type for the kinds of value one key took; None means 'keep each value as text'
    (strings as they are, anything else as its JSON)."""
    if not kinds or kinds == {"text"}:
        return pa.string()
    if kinds == {"bool"}:
        return pa.bool_()
    if kinds == {"int"}:
        return pa.int64()
    if kinds <= {"int", "float"}:
        return pa.float64()
    if all(k.startswith("list:") for k in kinds):
        inner = set()
        for k in kinds:
            inner |= set(k[5:].split("+")) - {"empty"}
        element = _resolve_type(inner)
        if element is not None and not pa.types.is_boolean(element):
            return pa.list_(element)
        return None
    if "text" in kinds and kinds <= _TEXT_OR_TEXT_LISTS:
        return pa.list_(pa.string())  # "pos": "a" on some lines, "pos": ["a", "b"] on others
    return None


class JsonlSource(_FileSource):
    """JSON Lines, read twice: once to check every line and settle each key's type, once to convert.

    The first pass is what lets a bad line be named by its number before any output is written.
    """

    def __init__(self, path: Path, chunk_rows: int = CHUNK_ROWS, source: str | None = None):
        super().__init__(path, source)
        self.chunk_rows = chunk_rows
        self._first_line: dict[tuple[str, str], int] = {}
        self.rows = 0
        kinds: dict[str, set[str]] = {}
        order: dict[str, None] = {}
        for lineno, record in self._records():
            self.rows += 1
            for key, value in record.items():
                order.setdefault(key)
                kind = _kind(value)
                if kind is not None:
                    if kind not in kinds.setdefault(key, set()):
                        kinds[key].add(kind)
                        self._first_line[(key, kind)] = lineno
                else:
                    kinds.setdefault(key, set())
        if self.rows == 0:
            raise InputError(f"{self.label} is empty: it has no JSON lines", hint="check that the right file was given")
        self._as_text = {k for k in order if _resolve_type(kinds[k]) is None}
        self._wrap_scalar = {k for k in order if "text" in kinds[k] and kinds[k] <= _TEXT_OR_TEXT_LISTS
                             and len(kinds[k]) > 1}
        self.kinds = kinds
        self.schema = pa.schema([(k, _resolve_type(kinds[k]) or pa.string()) for k in order])

    def _records(self) -> Iterator[tuple[int, dict[str, Any]]]:
        try:
            with _open_binary(self.path) as f:
                for lineno, line in enumerate(f, start=1):
                    if not line.strip():
                        continue
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise InputError(f"{self.label}, line {lineno}: not valid JSON ({exc.msg}, column {exc.colno})",
                                         hint="fix or remove that line; each line must be one JSON object") from None
                    except UnicodeDecodeError:
                        raise InputError(f"{self.label}, line {lineno}: not UTF-8 text",
                                         hint="re-encode the file as UTF-8") from None
                    if not isinstance(record, dict):
                        raise InputError(
                            f"{self.label}, line {lineno}: a JSON {type(record).__name__}, not an object",
                            hint="each line must be one JSON object such as {\"anchor\": ..., \"positive\": ...}")
                    yield lineno, record
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"{self.label} cannot be read: {exc}", hint="the file is corrupt or truncated") from None

    def check_text(self, column: str, allow_list: bool) -> None:
        """Name the first line where a column that must hold text holds something else."""
        for kind in sorted(self.kinds.get(column, ())):
            if kind == "text" or (allow_list and kind in ("list:text", "list:empty")):
                continue
            line = self._first_line[(column, kind)]
            what = {"int": "a number", "bigint": "a number", "float": "a number", "bool": "true/false",
                    "object": "an object"}.get(
                kind, "a list" if kind.startswith("list:") else kind)
            raise InputError(f"{self.label}, line {line}: {column!r} is {what}, expected text",
                             hint="every value of that key must be a string" + (" or a list of strings" if allow_list else ""))

    def tables(self) -> Iterator[pa.Table]:
        chunk: list[dict[str, Any]] = []
        for _, record in self._records():
            for key in self._as_text & record.keys():
                value = record[key]
                if value is not None and not isinstance(value, str):
                    record[key] = json.dumps(value, ensure_ascii=False)
            for key in self._wrap_scalar & record.keys():
                if isinstance(record[key], str):
                    record[key] = [record[key]]
            chunk.append(record)
            if len(chunk) >= self.chunk_rows:
                yield pa.Table.from_pylist(chunk, schema=self.schema)
                chunk = []
        if chunk:
            yield pa.Table.from_pylist(chunk, schema=self.schema)


# -- CSV / TSV --------------------------------------------------------------------------------
class DelimitedSource(_FileSource):
    """CSV or TSV with a header line. Every column is read as text: ids such as 00123 stay as written.

    TSV is read without quoting, as BEIR qrels and MS MARCO files are written.
    """

    def __init__(self, path: Path, delimiter: str, source: str | None = None):
        super().__init__(path, source)
        self.delimiter = delimiter
        try:
            with _open_binary(path) as f:
                header = f.readline().decode("utf-8-sig")
        except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
            raise InputError(f"{self.label} cannot be read: {exc}",
                             hint="the file is corrupt, truncated or not UTF-8") from None
        if not header.strip():
            raise InputError(f"{self.label} is empty: it has no header line",
                             hint="the first line must name the columns")
        if delimiter == "\t":
            names = header.rstrip("\r\n").split("\t")
        else:
            names = next(csv.reader(io.StringIO(header)))
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise InputError(f"the header of {self.label} names {', '.join(map(repr, repeated))} more than once",
                             hint="give every column its own name")
        self.schema = pa.schema([(n, pa.string()) for n in names])
        self.rows = 0

    def tables(self) -> Iterator[pa.Table]:
        parse = pacsv.ParseOptions(delimiter=self.delimiter, quote_char=False if self.delimiter == "\t" else '"',
                                   newlines_in_values=self.delimiter != "\t")
        convert = pacsv.ConvertOptions(column_types={n: pa.string() for n in self.schema.names},
                                       strings_can_be_null=False, quoted_strings_can_be_null=False)
        self.rows = 0
        try:
            with _open_binary(self.path) as f:
                reader = pacsv.open_csv(f, read_options=pacsv.ReadOptions(block_size=1 << 22), parse_options=parse,
                                        convert_options=convert)
                for batch in reader:
                    self.rows += batch.num_rows
                    yield pa.Table.from_batches([batch])
        except (pa.ArrowException, OSError, EOFError, zlib.error) as exc:
            raise InputError(f"{self.label} cannot be parsed: {exc}",
                             hint="check the delimiter (--format csv|tsv) and the quoting of the line named") from None
        if self.rows == 0:
            raise InputError(f"{self.label} is empty: it has a header but no rows",
                             hint="check that the right file was given")


# -- Parquet / cltool datasets / Arrow stream -------------------------------------------------
class DatasetSource:
    """A Parquet file, glob, cltool dataset directory or `-`, read in batches."""

    def __init__(self, spec: str | pa.Table, stdin: IO[bytes] | None = None):
        self.dataset: Dataset = open_dataset(spec, stdin=stdin)
        self.source = self.dataset.source
        self.schema = self.dataset.schema
        self.manifest = self.dataset.manifest
        require_rows(self.dataset)

    def tables(self) -> Iterator[pa.Table]:
        rows = 0
        for batch in self.dataset.batches():
            rows += batch.num_rows
            yield pa.Table.from_batches([batch])
        if rows == 0:
            raise InputError(f"{self.source} is empty: it has no rows", hint="check the command writing into the pipe")

    def describe_inputs(self) -> list[dict[str, Any]]:
        return self.dataset.describe_inputs()


def open_source(spec: str | pa.Table, fmt: str, stdin: IO[bytes] | None = None):
    if fmt == "jsonl":
        return JsonlSource(Path(spec))
    if fmt in ("csv", "tsv"):
        return DelimitedSource(Path(spec), "," if fmt == "csv" else "\t")
    if fmt == "parquet":
        return DatasetSource(spec, stdin=stdin)
    raise InputError(f"unknown format {fmt!r}", hint=f"one of: {', '.join(FORMATS)}")


def find_in_folder(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / (name + ".gz")):
        if candidate.is_file():
            return candidate
    return None

"""`cltool ingest`: any supported input -> the canonical pairs table (or corpus table).

`canonical.py` brings a table's columns to the canonical layout (the accepted aliases, `--column`
overrides, one positive per row, ids by the contract's rule); `convert.py` holds the settings and the
conversion of one file, dataset or Arrow table; `formats.py`
reads JSONL, CSV/TSV and Parquet in chunks (what is piped into `-` is told apart by
`cltool.dataset.stdin`); `beir.py` turns a BEIR folder into pairs and a corpus.
"""

from cltool.ingest.convert import TABLES, Settings, ingest

__all__ = ["TABLES", "Settings", "ingest"]

"""The dataset contract every step honours: how datasets are found, read, written and described.

- `columns`: the names: columns of the pairs and corpus tables, shared rejection reasons, embedding
  columns (no numpy, no pyarrow: the CLI imports it at start-up).
- `pairs`: the contract's rules: ids, match keys, text types, blank texts, comparable embeddings.
- `texts`: the distinct texts of a step, each once by id, with its match key.
- `read`: a dataset directory, a Parquet file, a glob or `-` (Arrow IPC on stdin) as a stream of
  record batches.
- `write`: atomic output (shards in `NAME/`, `NAME.rejected/` and `NAME.manifest.json` beside it, the
  manifest last), or an Arrow IPC stream on stdout.
- `stdin`: what a shell pipes into `-` (an Arrow stream, JSON lines, CSV/TSV, gzip), by its first bytes.
- `manifest`: where a dataset's manifest, rejected rows and parts are, and how they are read.

Bringing an input to the canonical layout is ingest's (`cltool.ingest.canonical`).
"""

from typing import Any

__all__ = ["Dataset", "Output", "open_dataset"]


# Re-exported when asked for, so that importing `cltool.dataset.columns` does not load pyarrow.
def __getattr__(name: str) -> Any:
    if name in ("Dataset", "open_dataset"):
        from cltool.dataset import read

        return getattr(read, name)
    if name == "Output":
        from cltool.dataset.write import Output

        return Output
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

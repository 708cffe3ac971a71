"""The dataset contract every step honours: how datasets are found, read, written and described.

- `read`: a dataset directory, a Parquet file, a glob or `-` (Arrow IPC on stdin) as a stream of
  record batches.
- `write`: atomic output (shards, `_rejected/`, `_manifest.json` last, directory renamed last), or an
  Arrow IPC stream on stdout.
- `manifest`: what `_manifest.json` holds and how it is read.
- `pairs`: the canonical pairs and corpus tables: column names, aliases, stable ids.
"""

from cltool.dataset.read import Dataset, open_dataset
from cltool.dataset.write import Output

__all__ = ["Dataset", "Output", "open_dataset"]

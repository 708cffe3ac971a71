"""The dataset contract every step honours: how datasets are found, read, written and described.

- `read`: a dataset directory, a Parquet file, a glob or `-` (Arrow IPC on stdin) as a stream of
  record batches.
- `write`: atomic output (shards in `NAME/`, `NAME.rejected/` and `NAME.manifest.json` beside it, the
  manifest last), or an Arrow IPC stream on stdout.
- `stdin`: what a shell pipes into `-` (an Arrow stream, JSON lines, CSV/TSV, gzip), by its first bytes.
- `manifest`: where a dataset's manifest, rejected rows and parts are, and how they are read.
- `pairs`: the canonical pairs and corpus tables: column names, aliases, stable ids.
"""

from cltool.dataset.read import Dataset, open_dataset
from cltool.dataset.write import Output

__all__ = ["Dataset", "Output", "open_dataset"]

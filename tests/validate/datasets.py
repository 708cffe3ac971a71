"""The small datasets validate's tests build: rows that pass every check, and a writer that makes
them a cltool dataset (optionally with anchor embeddings)."""

from pathlib import Path

import numpy as np
import pyarrow as pa

from cltool.dataset.write import Output

LONG = "the quick brown fox jumps over the lazy dog near the river bank on a sunny day in may"


def good_rows() -> list[dict]:
    return [
        {"anchor": f"question {i} about topic {i}", "positive": f"answer {i} explains topic {i} in detail",
         "negatives": [f"unrelated passage {(i + 1) % 6} on its own subject", f"another text {(i + 2) % 6} here"],
         "negative_scores": [0.5, 0.4], "positive_score": 0.8}
        for i in range(6)
    ]


def write(path: Path, rows: list[dict], vectors: np.ndarray | None = None) -> str:
    columns = {k: [r[k] for r in rows] for k in rows[0]}
    table = pa.table({k: pa.array(v, pa.list_(pa.float32()) if k == "negative_scores" else None)
                      for k, v in columns.items()})
    if vectors is not None:
        table = table.append_column("anchor_embedding", pa.FixedSizeListArray.from_arrays(
            pa.array(vectors.reshape(-1), pa.float32()), vectors.shape[1]))
    with Output(path, command="test", params={}) as out:
        out.count_input(len(rows))
        out.write(table)
    return str(path)

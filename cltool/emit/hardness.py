"""FILE.hardness.parquet (--include-scores): row for row with a training file, every score the chain
recorded for the texts of each line. sentence-transformers reads every extra column of a training
file as an input, so these live apart."""

from __future__ import annotations

import pyarrow as pa

from cltool.dataset.columns import NEGATIVE_RANKS
from cltool.emit.formats import Line
from cltool.emit.read import Rows


def hardness_table(rows: Rows, lines: list[Line]) -> pa.Table:
    """The scores of the positives and negatives each line holds, in their column order, as mine and
    filter recorded them (null for a negative emit filled)."""
    def negative_values(values: list[list]) -> list[list]:
        return [[values[r][j] if j < len(values[r]) else None for r, j in slots] for _, _, slots in lines]

    columns: dict[str, pa.Array] = {}
    for name, values in rows.positive_columns.items():
        columns[name.replace("_score", "_scores")] = pa.array([[values[r] for r in ps] for _, ps, _ in lines],
                                                               pa.list_(pa.float32()))
    for name, values in rows.negative_columns.items():
        kind = pa.int32() if name == NEGATIVE_RANKS else pa.float32()
        columns[name] = pa.array(negative_values(values), pa.list_(kind))
    return pa.table(columns)

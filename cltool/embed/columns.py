"""Which text columns are embedded, and the rows that cannot be: a chosen text null or blank."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cltool.dataset.columns import ANCHOR, CORPUS_TEXT, POSITIVE
from cltool.dataset.pairs import blank_mask, is_text_list_type, require_text_columns
from cltool.errors import InputError

QUERY_COLUMNS = (ANCHOR,)  # embedded with the query prompt; every other column with the document prompt


def default_columns(schema: pa.Schema) -> list[str]:
    if ANCHOR in schema.names or POSITIVE in schema.names:
        return [c for c in (ANCHOR, POSITIVE) if c in schema.names]
    if CORPUS_TEXT in schema.names:
        return [CORPUS_TEXT]
    raise InputError(f"no column to embed: columns found: {', '.join(schema.names)}",
                     hint="name them with --columns, e.g. --columns question,answer")


def check_columns(schema: pa.Schema, columns: Sequence[str], source: str) -> None:
    """Each chosen column is there and holds text, or lists of texts."""
    lists = {c for c in columns if c in schema.names and is_text_list_type(schema.field(c).type)}
    require_text_columns(source, schema, [c for c in columns if c not in lists],
                         hint="embed only text columns (or lists of texts); choose them with --columns")


def count_texts(table: pa.Table, columns: Sequence[str]) -> int:
    return sum(len(pc.list_flatten(table.column(c))) if is_text_list_type(table.schema.field(c).type)
               else table.num_rows for c in columns)


def blank_rows(table: pa.Table, columns: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Rows where a chosen text column is null or blank (lists: null, empty, or holding a blank text)."""
    bad = np.zeros(table.num_rows, dtype=bool)
    which: list[list[str]] = [[] for _ in range(table.num_rows)]
    for column in columns:
        values = table.column(column)
        if is_text_list_type(values.type):
            parents = pc.list_parent_indices(values).to_numpy()
            blank = np.zeros(table.num_rows, dtype=bool)
            blank[parents[blank_mask(pc.list_flatten(values))]] = True
            blank |= pc.is_null(values).to_numpy(zero_copy_only=False)
        else:
            blank = blank_mask(values)
        for i in np.nonzero(blank)[0]:
            which[i].append(column)
        bad |= blank
    return bad, [", ".join(which[i]) + " is null or blank" for i in np.nonzero(bad)[0]]

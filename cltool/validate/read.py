"""The table the checks look at: every column but the vectors (checked from the schema), with the
texts' match keys computed once. An emitted training file is read through `training.py`: its
columns mapped onto the pairs table, each row knowing the file line it came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc

from cltool.dataset.columns import ANCHOR, ANCHOR_ID, EMBEDDING_SUFFIX, NEGATIVE_IDS, NEGATIVES, POSITIVE, POSITIVE_ID
from cltool.dataset.pairs import given_or_derived, ids_and_match_keys
from cltool.dataset.read import Dataset, open_dataset
from cltool.validate.training import TrainingFile, is_training_file, read_training_file


@dataclass
class Data:
    dataset: Dataset
    table: pa.Table
    anchors: list[str | None]
    positives: list[str | None]
    anchor_keys: list[int]
    positive_keys: list[int]
    positive_ids: list[str | None]
    negatives: list[list[str]] | None
    negative_ids: list[list[str]] | None
    training: TrainingFile | None = None  # the input is an emitted training file, read as this table

    def example(self, row: int, **extra: Any) -> dict[str, Any]:
        """An offending row as a report shows it: its number (and a training file's line), id, anchor
        and positive (cut), and `extra`."""
        out: dict[str, Any] = {"row": row}
        if self.training is not None:
            out["line"] = self.training.row_lines[row]
        for column in (ANCHOR_ID, ANCHOR, POSITIVE):
            if column in self.table.column_names:
                value = self.table.column(column)[row].as_py()
                out[column] = value[:200] if isinstance(value, str) else value
        return {**out, **extra}


def read_data(dataset: Dataset) -> Data:
    names = dataset.schema.names
    wanted = [c for c in names if not c.endswith(EMBEDDING_SUFFIX)]
    table = pa.Table.from_batches(list(dataset.batches(columns=wanted)),
                                  schema=pa.schema([dataset.schema.field(c) for c in wanted]))
    anchors = table.column(ANCHOR).to_pylist() if ANCHOR in names else []
    positives = table.column(POSITIVE).to_pylist() if POSITIVE in names else []
    _, a_keys = ids_and_match_keys(anchors)
    p_ids, p_keys = ids_and_match_keys(positives)
    given = pc.cast(table.column(POSITIVE_ID), pa.string()).to_pylist() if POSITIVE_ID in names else None
    p_ids = given_or_derived(given, positives, derived=p_ids)
    negatives = negative_ids = None
    if NEGATIVES in names:
        raw = [list(row or ()) for row in table.column(NEGATIVES).to_pylist()]
        negatives = [[t for t in row if t is not None] for row in raw]
        if NEGATIVE_IDS in names:  # parallel to the negatives kept: a null negative's id goes with it
            negative_ids = []
            for texts, given in zip(raw, table.column(NEGATIVE_IDS).to_pylist()):
                ids = given_or_derived(given or [None] * len(texts), texts)
                negative_ids.append([i for t, i in zip(texts, ids) if t is not None])
    return Data(dataset, table, anchors, positives, a_keys, p_keys, p_ids, negatives, negative_ids)


def read_input(spec: str | pa.Table, stdin: IO[bytes] | None = None) -> Data:
    """A dataset (as `open_dataset` reads it; its files are checked against its manifest by the
    manifest check, not refused), or an emitted training file."""
    if is_training_file(spec):
        training = read_training_file(spec)
        dataset = open_dataset(training.table)
        dataset.source = str(training.path)
        data = read_data(dataset)
        data.training = training
        return data
    return read_data(open_dataset(spec, stdin=stdin, verify=False))

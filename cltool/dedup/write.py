"""The second pass over the input: every row goes to the output, or to the rejected rows with its
reason, the id of the row it duplicates (`duplicate_of`), the similarity and a detail in words."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from cltool.dataset.read import Dataset
from cltool.dataset.write import Output, with_rejection
from cltool.dedup.decisions import Decisions
from cltool.dedup.load import DecidingColumns
from cltool.dedup.methods import removed_by
from cltool.progress import Reporter

DUPLICATE_OF, SIMILARITY = "duplicate_of", "similarity"


def write(out: Output, dataset: Dataset, decisions: Decisions, rows: DecidingColumns, reference: DecidingColumns | None,
          reporter: Reporter) -> None:
    with out.stage("write"), reporter.task("dedup write", total=len(rows)) as task:
        offset = 0
        for batch in dataset.batches():
            table = pa.Table.from_batches([batch])
            index = np.arange(offset, offset + table.num_rows)
            keep = decisions.alive[index]
            out.count_input(table.num_rows)
            out.write(table.filter(pa.array(keep)))
            gone = index[~keep]
            if len(gone):
                out.reject(_rejected_rows(table.filter(pa.array(~keep)), gone, decisions, rows, reference))
            offset += table.num_rows
            task.advance(table.num_rows)


def _rejected_rows(table: pa.Table, gone: np.ndarray, decisions: Decisions, rows: DecidingColumns,
                   reference: DecidingColumns | None) -> pa.Table:
    duplicate_ids, details = [], []
    for i in gone.tolist():
        target = decisions.duplicate_row[i]
        if target >= 0:
            in_reference = bool(decisions.in_reference[i])
            target_id = (reference if in_reference else rows).id_of(int(target))
            duplicate_ids.append(target_id)
            details.append(removed_by(decisions.reason[i]).describe(decisions.similarity[i], target_id, in_reference))
        else:
            duplicate_ids.append(None)
            details.append(decisions.detail.get(i, ""))
    similarity = decisions.similarity[gone]
    return with_rejection(table, reason=decisions.reason[gone].tolist(), detail=details,
                          **{DUPLICATE_OF: duplicate_ids,
                             SIMILARITY: pa.array(similarity, pa.float32(), mask=np.isnan(similarity))})

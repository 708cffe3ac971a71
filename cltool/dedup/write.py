"""The second pass over the input: every row goes to the output, or to the rejected rows with its
reason, the id of the row it duplicates (`duplicate_of`), the similarity and a detail in words."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from cltool.dataset.read import Dataset, release_memory
from cltool.dataset.write import Output, with_rejection
from cltool.dedup.decisions import Decisions
from cltool.dedup.load import DecidingColumns
from cltool.dedup.methods import removed_by
from cltool.progress import Reporter

DUPLICATE_OF, SIMILARITY = "duplicate_of", "similarity"
# rows read, split and written at a time: each batch is held three times over (read, kept, removed)
_WRITE_BATCH_ROWS = 16_384


def write(out: Output, dataset: Dataset, decisions: Decisions, rows: DecidingColumns, reference: DecidingColumns | None,
          reporter: Reporter) -> None:
    with out.stage("write"), reporter.task("dedup write", total=len(rows)) as task:
        offset = 0
        for batch in dataset.batches(batch_rows=_WRITE_BATCH_ROWS):
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
            release_memory()  # each batch's pages and copies, not kept for the next


def _rejected_rows(table: pa.Table, gone: np.ndarray, decisions: Decisions, rows: DecidingColumns,
                   reference: DecidingColumns | None) -> pa.Table:
    targets = decisions.duplicate_row[gone]
    in_reference = decisions.in_reference[gone].astype(bool)
    duplicate_ids: list[str | None] = [None] * len(gone)
    for source, where in ((rows, (targets >= 0) & ~in_reference), (reference, (targets >= 0) & in_reference)):
        at = np.nonzero(where)[0]
        if len(at):
            for i, target_id in zip(at.tolist(), source.ids_of(targets[at])):
                duplicate_ids[i] = target_id
    method_of = {reason: removed_by(reason) for reason in set(decisions.reason[gone].tolist())}
    details = []
    for i, row in enumerate(gone.tolist()):
        if duplicate_ids[i] is not None:
            method = method_of[decisions.reason[row]]
            details.append(method.describe(decisions.similarity[row], duplicate_ids[i], bool(in_reference[i])))
        else:
            details.append(decisions.detail.get(row, ""))
    similarity = decisions.similarity[gone]
    return with_rejection(table, reason=decisions.reason[gone].tolist(), detail=details,
                          **{DUPLICATE_OF: duplicate_ids,
                             SIMILARITY: pa.array(similarity, pa.float32(), mask=np.isnan(similarity))})

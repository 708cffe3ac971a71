"""Mine's second pass: every row gets its anchor's negatives, their ids, scores and ranks, and the
score of its own positive; rows that cannot be mined go to the rejected rows with a reason."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from cltool.dataset.columns import (
    EMPTY_TEXT,
    INVALID_EMBEDDING,
    NEGATIVE_IDS,
    NEGATIVE_RANKS,
    NEGATIVE_SCORES,
    NEGATIVES,
    POSITIVE_RANK,
    POSITIVE_SCORE,
    TOO_FEW_NEGATIVES,
)
from cltool.dataset.read import Dataset
from cltool.dataset.write import Output, with_rejection
from cltool.mine.load import Candidates, Pairs
from cltool.mine.select import Chosen
from cltool.mine.settings import Settings

MINED_COLUMNS = (NEGATIVES, NEGATIVE_IDS, NEGATIVE_SCORES, NEGATIVE_RANKS, POSITIVE_SCORE, POSITIVE_RANK)


def write_mined(out: Output, dataset: Dataset, pairs: Pairs, candidates: Candidates, chosen: Chosen,
                settings: Settings, replaced: list[str], task, positive_ranks: np.ndarray) -> None:
    ids = pa.array(candidates.ids, pa.string())
    texts = pa.array(candidates.texts, pa.large_string())
    found = chosen.found
    row = 0
    for batch in dataset.batches():
        table = pa.Table.from_batches([batch]).drop_columns(replaced)
        out.count_input(table.num_rows)
        index = np.arange(row, row + table.num_rows)
        anchor = pairs.row_anchor[index]
        short = (anchor >= 0) & (found[np.maximum(anchor, 0)] < settings.min_negatives)
        keep = (anchor >= 0) & ~short
        kept = index[keep]
        a = pairs.row_anchor[kept]
        mask = chosen.candidate_rows[a] >= 0
        list_offsets = pa.array(np.concatenate([[0], np.cumsum(mask.sum(axis=1))]).astype(np.int32))
        negatives = pa.array(chosen.candidate_rows[a][mask])

        def lists(values: pa.Array) -> pa.Array:
            return pa.ListArray.from_arrays(list_offsets, values)

        mined = table.filter(pa.array(keep))
        mined = mined.append_column(NEGATIVES, lists(texts.take(negatives).cast(pa.string())))
        mined = mined.append_column(NEGATIVE_IDS, lists(ids.take(negatives)))
        mined = mined.append_column(NEGATIVE_SCORES, lists(pa.array(chosen.scores[a][mask], pa.float32())))
        mined = mined.append_column(NEGATIVE_RANKS, lists(pa.array(chosen.ranks[a][mask], pa.int32())))
        mined = mined.append_column(POSITIVE_SCORE, pa.array(pairs.row_score[kept], pa.float32()))
        rank = positive_ranks[kept]
        mined = mined.append_column(POSITIVE_RANK, pa.array(rank, pa.int32(), mask=rank < 0))
        out.write(mined)
        gone = index[~keep]
        if len(gone):
            reasons = [pairs.row_reason[i] or TOO_FEW_NEGATIVES for i in gone.tolist()]
            details = [_detail(pairs, i, found, chosen.eligible, settings) for i in gone.tolist()]
            out.reject(with_rejection(table.filter(pa.array(~keep)), reason=reasons, detail=details))
        row += table.num_rows
        task.advance(table.num_rows)


def _detail(pairs: Pairs, row: int, found, eligible, settings: Settings) -> str:
    reason = pairs.row_reason[row]
    if reason == EMPTY_TEXT:
        return "anchor or positive is null or blank"
    if reason == INVALID_EMBEDDING:
        return "anchor or positive embedding is null, not finite or zero"
    a = pairs.row_anchor[row]
    return (f"{int(found[a])} negatives found, --min-negatives {settings.min_negatives} asked "
            f"({int(eligible[a])} candidates passed every rule)")

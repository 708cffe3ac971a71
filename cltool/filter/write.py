"""Filter's second pass: every row keeps its anchor's surviving negatives, in their order, then the
refills, and each scoring judge's score of them, so a trainer can re-weight without re-judging.
Rows of an anchor still short go to the rejected rows (too_few_negatives); every removed negative
goes to `OUT.rejected.negatives`, one row per (anchor, negative), with the judges that flagged it and
their scores."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from cltool.dataset.columns import (
    ANCHOR,
    ANCHOR_ID,
    EMPTY_TEXT,
    MISMATCHED_PAIR,
    NEGATIVE_IDS,
    NEGATIVE_RANKS,
    NEGATIVE_SCORES,
    NEGATIVES,
    TOO_FEW_NEGATIVES,
)
from cltool.dataset.read import Dataset
from cltool.dataset.write import Output, with_rejection
from cltool.filter.verdicts import Judged
from cltool.filter.judges import JUDGES, Judge
from cltool.filter.load import LOAD_ROWS, Loaded, negatives_of
from cltool.filter.pair_judges import PAIR_JUDGES
from cltool.filter.pair_judges.verdicts import PairsJudged
from cltool.filter.settings import Settings

FALSE_NEGATIVE = "false_negative"
REJECTED_NEGATIVES = "_negatives"  # inside the rejected dataset: one row per removed negative
# what any judge writes (each judge's score_column, the cross-encoder's positive_ce_score,
# the pair judges' shares): a second filter replaces them
JUDGE_COLUMNS = tuple(column for judge in JUDGES.values() for column in (judge.score_column, judge.positive_column)
                      if column) + tuple(judge.share_column for judge in PAIR_JUDGES.values())


def write_filtered(out: Output, dataset: Dataset, loaded: Loaded, judges: list[Judge], judged: Judged,
                   false: np.ndarray, refills: dict[int, list[int]], pair_verdicts: PairsJudged,
                   settings: Settings, task) -> np.ndarray:
    """Second pass: each row's negatives, filtered and refilled, and the pair judges' shares; rows of
    a mismatched pair are rejected. Returns the negatives kept per anchor."""
    texts = pa.array(loaded.work.texts, pa.large_string())
    text_ids = pa.array(loaded.work.text_ids, pa.string())
    kept_per_anchor = np.zeros(len(loaded.anchor_keys), dtype=np.int64)
    for a in range(len(loaded.anchor_keys)):
        kept_per_anchor[a] = len(loaded.kept_pairs(false, a)) + len(refills.get(a, ()))
    ranks = NEGATIVE_RANKS in dataset.schema.names
    row = 0
    for batch in dataset.batches(batch_rows=LOAD_ROWS):
        table = pa.Table.from_batches([batch])
        out.count_input(table.num_rows)
        anchors = loaded.row_anchor[row:row + table.num_rows]
        negative_texts, negative_ids, _, _, counts = negatives_of(batch, dataset.source)
        rank_lists = table.column(NEGATIVE_RANKS).to_pylist() if ranks else None
        row_pairs: list[list[int]] = []
        row_ranks: list[list[int | None]] = []
        flat_start = 0
        for r in range(table.num_rows):
            a = int(anchors[r])
            start, flat_start = flat_start, flat_start + counts[r]
            pairs, kept_ranks = [], []
            if a >= 0:
                for j in range(counts[r]):
                    if negative_texts[start + j] is None:
                        continue
                    p = loaded.pair_index[(a, loaded.texts.index[negative_ids[start + j]])]
                    if not false[p] and p not in pairs:
                        pairs.append(p)
                        kept_ranks.append(rank_lists[r][j] if rank_lists is not None else None)
                for p in refills.get(a, ()):
                    pairs.append(p)
                    kept_ranks.append(None)
            row_pairs.append(pairs)
            row_ranks.append(kept_ranks)
        mismatched = pair_verdicts.mismatched[row:row + table.num_rows]
        short = np.array([a < 0 or kept_per_anchor[a] < settings.min_negatives for a in anchors.tolist()],
                         dtype=bool) | mismatched
        flat = np.array([p for pairs in row_pairs for p in pairs], dtype=np.int64)
        offsets = pa.array(np.concatenate([[0], np.cumsum([len(p) for p in row_pairs])]).astype(np.int32))

        def lists(values: pa.Array) -> pa.ListArray:
            return pa.ListArray.from_arrays(offsets, values)

        text_of = pa.array(loaded.pair_text[flat]) if len(flat) else pa.array([], pa.int64())
        # a previous filter's judge columns go too: they describe negatives this run may have removed
        replaced = [c for c in (NEGATIVES, NEGATIVE_IDS, NEGATIVE_SCORES, NEGATIVE_RANKS, *JUDGE_COLUMNS)
                    if c in table.schema.names]
        columns = {NEGATIVES: lists(texts.take(text_of).cast(pa.string())),
                   NEGATIVE_IDS: lists(text_ids.take(text_of)),
                   NEGATIVE_SCORES: lists(pa.array(loaded.pair_score[flat], pa.float32(),
                                                   mask=np.isnan(loaded.pair_score[flat])))}
        if ranks:
            columns[NEGATIVE_RANKS] = lists(pa.array([x for rr in row_ranks for x in rr], pa.int32()))
        for i, judge in enumerate(judges):  # the judges that score (duplicate-cluster only flags)
            if judge.score_column:
                values = judged.scores[i][flat]
                columns[judge.score_column] = lists(pa.array(values, pa.float32(), mask=np.isnan(values)))
        for judge in judges:  # the judges that also score every row's positive (the cross-encoder)
            if judge.positive_column:
                positives = loaded.row_positive[row:row + table.num_rows]
                valid = anchors >= 0
                scores = np.full(table.num_rows, np.nan, dtype=np.float32)
                if valid.any():
                    scores[valid] = judge.score(loaded.work, anchors[valid], positives[valid])
                columns[judge.positive_column] = pa.array(scores, pa.float32(), mask=np.isnan(scores))
        for i, judge in enumerate(pair_verdicts.judges):
            shares = pair_verdicts.shares[i][row:row + table.num_rows]
            columns[judge.share_column] = pa.array(shares, pa.float32(), mask=np.isnan(shares))
        result = table.drop_columns(replaced)
        for name, values in columns.items():
            result = result.append_column(name, values)
        out.write(result.filter(pa.array(~short)))
        if short.any():
            gone = result.filter(pa.array(short))
            reasons, details = [], []
            for r in np.nonzero(short)[0].tolist():
                a = int(anchors[r])
                if a < 0:
                    reasons.append(EMPTY_TEXT)
                    details.append("anchor or positive is null or blank")
                elif mismatched[r]:
                    reasons.append(MISMATCHED_PAIR)
                    details.append(pair_verdicts.detail(row + r))
                else:
                    reasons.append(TOO_FEW_NEGATIVES)
                    details.append(f"{int(kept_per_anchor[a])} negatives left after judging, --min-negatives "
                                   f"{settings.min_negatives} asked")
            out.reject(with_rejection(gone, reason=reasons, detail=details))
        row += table.num_rows
        task.advance(table.num_rows)
    return kept_per_anchor


def write_removed(out: Output, loaded: Loaded, judges: list[Judge], judged: Judged, false: np.ndarray) -> int:
    """One row per removed (anchor, negative): who flagged it and every judge's scores."""
    removed = np.nonzero(false)[0]
    writer = out.rejected_side_dataset(REJECTED_NEGATIVES)
    anchors, texts = loaded.pair_anchor[removed], loaded.pair_text[removed]
    flagged_by = [[j.name for i, j in enumerate(judges) if judged.flags[i][p]] for p in removed.tolist()]
    columns: dict[str, pa.Array] = {
        ANCHOR: pa.array([loaded.work.anchor_texts[a] for a in anchors.tolist()], pa.string()),
        ANCHOR_ID: pa.array([loaded.anchor_ids[a] for a in anchors.tolist()], pa.string()),
        "negative": pa.array([loaded.work.texts[t] for t in texts.tolist()], pa.string()),
        "negative_id": pa.array([loaded.work.text_ids[t] for t in texts.tolist()], pa.string()),
        "negative_score": pa.array(loaded.pair_score[removed], pa.float32(), mask=np.isnan(loaded.pair_score[removed])),
        "reason": pa.array([FALSE_NEGATIVE] * len(removed), pa.string()),
        "judges": pa.array(flagged_by, pa.list_(pa.string())),
        "detail": pa.array([_detail(judges, judged, p) for p in removed.tolist()], pa.string()),
    }
    for i, judge in enumerate(judges):
        column = judge.name.replace("-", "_")
        scores, reference = judged.scores[i][removed], judged.references[i][removed]
        if not np.isnan(scores).all():
            columns[f"{column}_score"] = pa.array(scores, pa.float32(), mask=np.isnan(scores))
        if not np.isnan(reference).all():
            columns[f"{column}_{judge.reference_name}"] = pa.array(reference, pa.float32(), mask=np.isnan(reference))
    if writer is not None:
        writer.write(pa.table(columns))
    return len(removed)


def _detail(judges: list[Judge], judged: Judged, pair: int) -> str:
    return "; ".join(judge.explain(judged.scores[i][pair], judged.references[i][pair])
                     for i, judge in enumerate(judges) if judged.flags[i][pair])

"""`mismatched_pairs`: the share of rows whose positive does not answer their anchor, by filter's two
consistency pair judges (both must agree, at filter's default --mismatch-share) on the data's own
anchor and positive embeddings; without them, the share a `filter --pair-judge` up the chain
removed (its manifest)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cltool.dataset.columns import ANCHOR, POSITIVE, embedding_column
from cltool.errors import InputError
from cltool.validate.checks.registry import Result, from_problems, register, skipped, within

if TYPE_CHECKING:
    from cltool.validate.read import Data
    from cltool.validate.rules import Rules

JUDGES = ("consistency", "anchor-consistency")


# share of rows; 1.0 (no limit) by default: how many pairs are noisy is the data's, not cltool's, to say.
# Set one in CI for a source whose noise rate is known (on clean real sets this was 1-3%, a third on a
# dictionary whose rare words the bundled model cannot tell apart: bench/outcome.py)
@register("mismatched_pairs", "few pairs look mismatched: their positive is outscored by other rows' positives "
          "for their anchor, and their anchor by other rows' anchors for their positive", order=9,
          max_mismatched_pairs=1.0)
def check_mismatched_pairs(t: Data, rules: Rules, examples: int, against: Data | None) -> Result:
    limit = rules.max_mismatched_pairs
    columns = [embedding_column(ANCHOR), embedding_column(POSITIVE)]
    if t.training is not None or not all(c in t.dataset.schema.names for c in columns):
        return _from_manifest(t, limit)
    import numpy as np
    import pyarrow as pa

    from cltool.dataset.pairs import comparable_info, embedding_matrix, require_comparable
    from cltool.dedup.semantic import unit_rows
    from cltool.filter import Settings
    from cltool.filter.pair_judges import PAIR_JUDGES, Pairs, PairVectors

    try:
        require_comparable(*(comparable_info(t.dataset.schema.field(c)) for c in columns), same_column=False,
                           where=f"{columns[0]} and {columns[1]} of {t.dataset.source}")
    except InputError as exc:  # validate reports the data's faults: this check fails, the others run
        return from_problems(None, limit, [f"{exc.message} ({exc.hint})"], "")
    # the table validate holds leaves the embeddings out (their size): read those two columns here
    embedded = pa.Table.from_batches(list(t.dataset.batches(columns=columns)),
                                     schema=pa.schema([t.dataset.schema.field(c) for c in columns]))
    a, a_invalid = embedding_matrix(embedded.column(columns[0]))
    p, p_invalid = embedding_matrix(embedded.column(columns[1]))
    judged = ~(a_invalid | p_invalid) & np.array([x is not None and y is not None
                                                  for x, y in zip(t.anchors, t.positives)], dtype=bool)
    pairs = Pairs.from_keys(t.anchor_keys, t.positive_keys, judged)
    anchors = np.zeros((int(pairs.row_anchor.max(initial=-1)) + 1, a.shape[1]), dtype=np.float32)
    texts = np.zeros((int(pairs.row_positive.max(initial=-1)) + 1, a.shape[1]), dtype=np.float32)
    anchors[pairs.row_anchor[judged]] = a[judged]
    texts[pairs.row_positive[judged]] = p[judged]
    vectors = PairVectors(unit_rows(anchors), unit_rows(texts), {"from": "the data's embedding columns"})
    settings = Settings()
    verdicts = [PAIR_JUDGES[name]("", settings).judge(pairs, vectors) for name in JUDGES]
    flagged = np.logical_and.reduce([v.flags for v in verdicts])
    rows = int(judged.sum())
    share = float(flagged.sum()) / max(rows, 1)
    worst = np.nonzero(flagged)[0][np.argsort(-verdicts[0].shares[flagged], kind="stable")][:examples]
    return within(round(share, 6), limit,
                  f"{int(flagged.sum()):,} of {rows:,} pairs look mismatched (more than "
                  f"{settings.mismatch_share:.0%} of other rows' positives outscore the positive for its anchor, and "
                  "of other rows' anchors the anchor for its positive); the value is the share of pairs",
                  [t.example(int(r), **{name: round(float(verdicts[i].shares[r]), 4) for i, name in enumerate(JUDGES)})
                   for r in worst.tolist()])


def _from_manifest(t: Data, limit: float) -> Result:
    manifest = t.dataset.manifest if t.training is None else None
    pairs = ((manifest or {}).get("summary") or {}).get("pairs")
    if not pairs:
        return skipped(limit, "no anchor_embedding and positive_embedding columns to judge the pairs with, and no "
                              "filter --pair-judge made the data")
    return within(pairs["removed_share"], limit,
                  f"filter --pair-judge removed {pairs['removed']:,} of {pairs['judged']:,} pairs as mismatched; "
                  "the value is that share", [])

"""The pair judges of `cltool filter`: each says, for every row, whether its positive answers its
anchor (`--pair-judge NAME[:MODEL]`, off unless given). One module per judge, registered by name
(`base.py`); a new judge is one module here (a `PairJudge` class with `@register`, its `name`,
`help`, `order`, `share_column`); the registry finds it.

Every judge gives each row one number on one scale whatever the model: the share of the row's
mismatched pairings (a sample of them) that outscore its own pair. A row is a mismatched pair when
`--pair-vote` of the judges (all, by default: two independent signals must agree, since a hard but
correct pair also ranks low) find its share above `--mismatch-share`; it goes to `OUT.rejected`
with the reason `mismatched_pair`, and every row keeps each judge's share in a column.

  consistency          other rows' positives for its anchor (E5's consistency filter, as a share)
  anchor-consistency   other rows' anchors for its positive
  score-outlier        random mismatched pairs of the file (the pair far below the file's pairs)

Vectors: the input's anchor_embedding and positive_embedding (the mining model) unless a judge
names a model (`consistency:MODEL`), which embeds through the embedding cache (`vectors.py`).
"""

from cltool.filter.pair_judges.base import (
    NONE,
    PAIR_JUDGES,
    PairJudge,
    Pairs,
    PairVectors,
    PairVerdict,
    build_pair_judges,
    parse_pair_judges,
)

__all__ = ["NONE", "PAIR_JUDGES", "PairJudge", "PairVectors", "PairVerdict", "Pairs", "build_pair_judges",
           "parse_pair_judges"]

"""The judges of `cltool filter`: each says, for (anchor, negative) pairs, whether the negative is
really a positive, by a signal the miner did not use. One module per judge, registered by name
(`--judge NAME[:MODEL]`, `base.py`); a new judge is one module here: a `Judge` class with
`@register`, its `name`, `help`, `order`, `Options` and score column. The registry finds it.

All judges see the same `Work`: the anchors, the unique texts (by id) and each anchor's
positives as indices into those texts. A judge scores a batch of (anchor, text) pairs and returns
a flag and a score per pair; it may be called again with more pairs (refill), so what it computes
once per anchor (the positives' scores) it keeps.

  cross-encoder:MODEL  rescores (anchor, text) jointly; false when the negative scores within
                       (1 - ratio) of the anchor's lowest positive (sign-safe), or above --max-score
  bi-encoder:MODEL     the same rule on the cosine of another embedding model
  paraphrase[:MODEL]   the cosine of the negative and a positive under an embedding model (the bundled
                       one by default): a paraphrase of a positive is a false negative (mine's
                       --near-duplicate rule, for negatives that mine did not choose)
  lexical              Jaccard of the normalised word sets of the negative and a positive
  duplicate-cluster    the negative and a positive fall in one near-duplicate cluster (MinHash
                       here, or the links of a `cltool dedup` output)
"""

from cltool.filter.judges.base import (
    JUDGES,
    Judge,
    Verdict,
    Work,
    build_judges,
    form,
    parse_judges,
    register,
    score_columns,
)

__all__ = ["JUDGES", "Judge", "Verdict", "Work", "build_judges", "form", "parse_judges", "register",
           "score_columns"]

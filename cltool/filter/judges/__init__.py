"""The judges of `cltool filter`: each says, for (anchor, negative) pairs, whether the negative is
really a positive, by a signal the miner did not use. One module per judge, registered by name
(`--judge NAME[:MODEL]`, `base.py`); a new judge is one module here and its import below.

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

# each registers itself on import, in the order that messages list them
from cltool.filter.judges import cross_encoder, bi_encoder, paraphrase, lexical, duplicate_cluster  # noqa: F401, I001
from cltool.filter.judges.base import JUDGES, Judge, Verdict, Work, build_judges, parse_judges, register
from cltool.filter.judges.scored import sign_safe_floor

__all__ = ["JUDGES", "Judge", "Verdict", "Work", "build_judges", "parse_judges", "register", "sign_safe_floor"]

"""`cltool emit`: the files trainers load, from mined (and filtered) pairs.

Formats, column order as the sentence-transformers losses take them (a `label`, `labels`, `score`
or `scores` column is the label; every other column is an input, in order):

  triplet       anchor, positive, negative                      one row per negative
  n-tuple       anchor, positive, negative_1 .. negative_n      one row per pair
  labeled-pair  anchor, text, label (1 positive, 0 negative)    one row per text
  labeled-list  anchor, texts, labels                           one row per pair
  bge           FlagEmbedding JSONL: query, pos, neg, [pos_scores, neg_scores], [prompt], one per anchor

`--include-scores` adds `scores` ([positive, negatives...]) to triplet and n-tuple and replaces
the label by the score in the labeled formats, as sentence-transformers' own miner does; bge gets
pos_scores and neg_scores. Cross-encoder scores (from `cltool filter`) are used where present.
Beside each file it writes FILE.hardness.parquet, row for row with it: every score the chain
recorded for the positives and negatives of that row, in their column order (`positive_scores`,
`negative_scores`, `negative_ranks`, each filter judge's `negative_*_scores`; null for a filled
negative). sentence-transformers reads every extra column of a training file as an input, so these
live apart: a trainer re-weights or orders the rows by them without re-mining.

Anchors short of negatives are never dropped silently (DESIGN §8): `--short fill` (default) tops
them up with positives of other anchors, never one of the anchor's own positives or the anchor (by
match key), drawn per anchor from a seeded stream, as in-batch negatives would be; `drop` sends
their rows to the rejected dataset; `pairs` writes them to a separate (anchor, positive) file.

`--split dev=0.05` puts whole groups in one split: rows sharing an anchor or a positive text
(transitively) never straddle two splits.
"""

from cltool.reexport import lazy

__all__ = ["FORMATS", "Format", "Settings", "emit", "hardness_path", "output_extension", "parse_split", "register",
           "manifest_paths", "sidecar", "split_path"]

# re-exported when asked for: the CLI imports the strategies' registry at start-up, not the step
__getattr__ = lazy(__name__, {
    "FORMATS": "formats", "Format": "formats", "register": "formats", "hardness_path": "paths",
    "manifest_paths": "paths", "output_extension": "paths", "sidecar": "paths", "split_path": "paths", "emit":
    "run", "Settings": "settings", "parse_split": "settings",
})

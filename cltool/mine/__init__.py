"""`cltool mine`: positive-aware hard negatives for every anchor.

1. Load (`load.py`): the pairs' anchor and positive embeddings are read once. Rows of the same
   anchor (the same text, ignoring case, spacing and the punctuation around it: `match_keys`) form
   one anchor, whose positives are all of its rows' positives. Candidates are the unique positives
   (by id) and the rows of any `--corpus` tables, deduplicated by id.
2. Search (`ranked.py`, `search.py`): each anchor's top `range_max` candidates, exact (blockwise) or
   through FAISS; or the ranked lists saved by `--save-candidates` (`candidates.py`, the format).
3. Select (`select.py`): the rules (`cltool.kernels.mine`) say which candidates are eligible: inside
   the rank window, never a positive (by id, by normalised text, or a near-duplicate of one), never
   the anchor, never the same text twice; then the score rules against the anchor's lowest-scoring
   positive. The sampler named by `--sampling` (`samplers/`, registered by name) picks among them.
   Anchors left short are searched again, deeper (`deepen.py`).
4. Write (`write.py`): the input is streamed again and every row gets its anchor's negatives, their
   ids, scores and ranks, and the score of its own positive.

Ranks are positions in the anchor's search results (0 = the most similar candidate), counted
before anything is excluded, so `--range-min 10` skips the 10 most similar candidates, positives
among them, as FlagEmbedding's `range_for_sampling` does.
"""

from cltool.reexport import lazy

__all__ = ["SAMPLERS", "Rules", "Settings", "distribution", "mine"]

# re-exported when asked for: the CLI imports the strategies' registry at start-up, not the step
__getattr__ = lazy(__name__, {
    "mine": "run", "SAMPLERS": "samplers", "Rules": "settings", "Settings": "settings", "distribution":
    "summary",
})

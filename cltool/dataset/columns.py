"""The data contract's names: the columns of the pairs and corpus tables, the rejection reasons that
several steps give, and where an embedding column and its metadata are found.

Names only, so this imports neither numpy nor pyarrow: the CLI reads it at start-up. The rules over
these columns (ids, match keys, comparable embeddings) are `cltool.dataset.pairs`'s.
"""

from __future__ import annotations

ANCHOR, POSITIVE, ANCHOR_ID, POSITIVE_ID = "anchor", "positive", "anchor_id", "positive_id"
POSITIVE_SCORE = "positive_score"
NEGATIVES, NEGATIVE_IDS, NEGATIVE_SCORES = "negatives", "negative_ids", "negative_scores"
NEGATIVE_RANKS = "negative_ranks"  # mine: each negative's rank among the anchor's candidates
# mine: how many of the anchor's candidates that are none of its positives outscore the row's positive
# (null: more than the search reached): a pair's consistency signal
POSITIVE_RANK = "positive_rank"
NEGATIVE_CE_SCORES, POSITIVE_CE_SCORE = "negative_ce_scores", "positive_ce_score"  # filter's cross-encoder
CORPUS_ID, CORPUS_TEXT = "id", "text"

# every rejected row says why: its reason (one of the names below, or a step's own) and a detail
REASON, DETAIL = "reason", "detail"
REJECTION_COLUMNS = (REASON, DETAIL)
# rejection reasons that several steps give
EMPTY_TEXT = "empty_text"
INVALID_EMBEDDING = "invalid_embedding"  # null, not finite, or all zeros: no direction, so no cosine
TOO_FEW_NEGATIVES = "too_few_negatives"
MISMATCHED_PAIR = "mismatched_pair"  # filter's pair judges: the positive does not answer the anchor

# `cltool embed` writes COLUMN_embedding, and in its Arrow field metadata what made it.
EMBEDDING_SUFFIX = "_embedding"
FIELD_METADATA_KEY = b"cltool:embedding"


def embedding_column(column: str) -> str:
    return column + EMBEDDING_SUFFIX

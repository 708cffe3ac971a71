"""Near-duplicate search shared by the checks: `cltool dedup --method minhash`'s, on word 5-grams."""

from __future__ import annotations

NEAR_DUPLICATE_THRESHOLD = 0.8  # MinHash Jaccard on word 5-grams, verified exactly: the limit's default


def near_duplicates(texts: list[str], threshold: float, reference_rows: int = 0):
    """The dedup result of `texts` (after dedup's default normalisation); the first `reference_rows`
    are the reference, never removed."""
    import pyarrow as pa

    from cltool.dedup.near import lsh_params, near_duplicates as find
    from cltool.dedup.text import DEFAULT_NORMALIZATION, normalize

    array = normalize(pa.array([t or "" for t in texts], pa.large_string()), DEFAULT_NORMALIZATION)
    return find(array, threshold=threshold, ngram=5, char_ngrams=False, num_perm=128, seed=1,
                params=lsh_params(threshold, 128), reference_rows=reference_rows)

"""minhash: near-duplicates by MinHash + LSH (`cltool.dedup.near`), every candidate pair verified by
its true Jaccard similarity; a row within `--threshold` of an earlier kept row (or a reference row) goes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cltool.dedup.methods.registry import Job, Normalized, register
from cltool.options import option

# more permutations cost memory (rows x permutations x 8 bytes) and add no accuracy that matters: 128
# to 256 estimate Jaccard to within a few hundredths
MAX_PERMUTATIONS = 1024


@dataclass(frozen=True)
class MinHash(Normalized):
    threshold: float = option(0.8, "Jaccard similarity that makes a near-duplicate.", above=0.0, below=1.0)
    ngram: int = option(5, "n-gram size (words, or characters with --char-ngrams).", minimum=1)
    char_ngrams: bool = option(False, "character n-grams instead of words.")
    num_perm: int = option(128, "permutations.", minimum=1, maximum=MAX_PERMUTATIONS)
    bands: int | None = option(None, "LSH bands (default: from --threshold).", kind="int")
    rows: int | None = option(None, "LSH rows per band.", kind="int")


@register("minhash", order=2, reason="near_duplicate", detail="Jaccard {similarity:.4f} with {duplicate_of}{where}",
          options=MinHash, help="MinHash + LSH, verified")
def minhash(job: Job) -> dict[str, Any]:
    import pyarrow as pa

    from cltool.dedup.near import lsh_params
    from cltool.dedup.text import normalized_text
    from cltool.engine import Engine

    settings, options, reference = job.settings, job.options, job.reference
    params = lsh_params(options.threshold, options.num_perm, options.bands, options.rows)
    live = job.live
    words = not options.char_ngrams
    texts = normalized_text(job.rows.texts, options.normalization, tokenized=words).take(pa.array(live))
    offset = 0
    if reference is not None:
        ref_texts = normalized_text(reference.texts, options.normalization, tokenized=words)
        offset = len(ref_texts)
        texts = pa.concat_arrays([ref_texts.cast(pa.large_string()), texts.cast(pa.large_string())])
    result = Engine.of(settings).near_duplicates(texts, threshold=options.threshold, ngram=options.ngram,
                                                 char_ngrams=options.char_ngrams, num_perm=options.num_perm,
                                                 seed=settings.seed, params=params, reference_rows=offset)
    duplicate_of = result.duplicate_of if reference is not None else live[result.duplicate_of]
    job.remove(live[result.removed - offset], duplicate_of, result.jaccard)
    summary = {**params.describe(), "candidate_pairs": result.candidates, "verified_pairs": result.verified}
    job.reporter.info(f"  LSH {params.bands} bands x {params.rows} rows; chance to catch a pair at Jaccard "
                      + ", ".join(f"{s}: {p:.3f}" for s, p in summary["catch_probability"].items()))
    return summary

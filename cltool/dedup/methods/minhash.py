"""minhash: near-duplicates by MinHash + LSH (`cltool.dedup.near`), every candidate pair verified by
its true Jaccard similarity; a row within `--threshold` of an earlier kept row (or a reference row) goes."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from cltool.dedup.methods.registry import Job, register
from cltool.dedup.near import MAX_PERMUTATIONS
from cltool.dedup.settings import Settings
from cltool.dedup.text import normalized_text
from cltool.errors import UsageError


def check(settings: Settings) -> None:
    if not 0.0 < settings.threshold < 1.0:
        raise UsageError(f"--threshold must lie strictly between 0 and 1, not {settings.threshold}")
    if settings.ngram < 1 or settings.num_perm < 1:
        raise UsageError("--ngram and --num-perm must be at least 1")
    if settings.num_perm > MAX_PERMUTATIONS:
        raise UsageError(f"--num-perm must be at most {MAX_PERMUTATIONS}, not {settings.num_perm:,}",
                         hint="128 to 256 permutations estimate Jaccard to within a few hundredths")


@register("minhash", order=2, reason="near_duplicate", detail="Jaccard {similarity:.4f} with {duplicate_of}{where}",
          check=check)
def minhash(job: Job) -> dict[str, Any]:
    from cltool.dedup.near import lsh_params, near_duplicates

    settings, reference = job.settings, job.reference
    if settings.engine == "ray":
        from functools import partial

        from cltool.dedup.ray_dedup import ray_near_duplicates

        near_duplicates = partial(ray_near_duplicates, address=settings.ray_address)

    params = lsh_params(settings.threshold, settings.num_perm, settings.bands, settings.rows)
    live = job.live
    words = not settings.char_ngrams
    texts = normalized_text(job.rows.texts, settings.normalization, tokenized=words).take(pa.array(live))
    offset = 0
    if reference is not None:
        ref_texts = normalized_text(reference.texts, settings.normalization, tokenized=words)
        offset = len(ref_texts)
        texts = pa.concat_arrays([ref_texts.cast(pa.large_string()), texts.cast(pa.large_string())])
    result = near_duplicates(texts, threshold=settings.threshold, ngram=settings.ngram,
                             char_ngrams=settings.char_ngrams, num_perm=settings.num_perm, seed=settings.seed,
                             params=params, reference_rows=offset)
    duplicate_of = result.duplicate_of if reference is not None else live[result.duplicate_of]
    job.remove(live[result.removed - offset], duplicate_of, result.jaccard)
    summary = {**params.describe(), "candidate_pairs": result.candidates, "verified_pairs": result.verified}
    job.reporter.info(f"  LSH {params.bands} bands x {params.rows} rows; chance to catch a pair at Jaccard "
                      + ", ".join(f"{s}: {p:.3f}" for s, p in summary["catch_probability"].items()))
    return summary

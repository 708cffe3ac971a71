"""semantic: SemDeDup over the deciding columns' embeddings (`cltool.dedup.semantic`): k-means, then
a row within `--eps` (cosine >= 1 - eps) of a row kept before it (in the `--keep` order) goes, rows
compared with those of their `--probes` nearest clusters; with --against, a row within eps of its
nearest reference row goes. With --dry-run and several `--eps` values, the summary says what each
would remove (one clustering serves them all)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cltool.dedup.methods.registry import Job, register
from cltool.dedup.semantic import KEEP_ORDERS
from cltool.dedup.settings import Settings
from cltool.dedup.text import joined
from cltool.errors import UsageError


def check(settings: Settings) -> None:
    if any(not 0.0 < e < 1.0 for e in settings.eps):
        raise UsageError(f"--eps values must lie strictly between 0 and 1, not {', '.join(map(str, settings.eps))}")
    if settings.clusters is not None and settings.clusters < 1:
        raise UsageError(f"--clusters must be at least 1, not {settings.clusters}")
    if settings.probes < 1:
        raise UsageError(f"--probes must be at least 1 (the row's own cluster), not {settings.probes}")
    if settings.keep not in KEEP_ORDERS:
        raise UsageError(f"--keep must be one of {', '.join(KEEP_ORDERS)}, not {settings.keep!r}")
    if len(settings.eps) > 1 and not settings.dry_run:
        raise UsageError("several --eps values are for --dry-run, which compares them", hint="give one --eps")


@register("semantic", order=3, reason="semantic_duplicate", detail="cosine {similarity:.4f} with {duplicate_of}{where}",
          check=check, embeddings=True)
def semantic(job: Job) -> dict[str, Any]:
    settings = job.settings
    found, clustering, summary = _duplicates(job, settings.eps[0])
    if found is not None:
        job.remove(*found)
    if settings.dry_run and len(settings.eps) > 1:
        summary["removed_fraction_by_eps"] = {
            str(e): round(_count(_duplicates(job, e, clustering)[0]) / len(job.rows), 6) for e in settings.eps}
    return summary


def _count(found: tuple[np.ndarray, ...] | None) -> int:
    return 0 if found is None else len(found[0])


def _duplicates(job: Job, eps: float, clustering=None):
    """(removed rows, the rows they duplicate, cosines) or None when no row is alive; the clustering
    (reused for another eps); the summary."""
    from cltool.dedup.semantic import against_reference, cluster, default_clusters, semantic_duplicates

    settings, rows = job.settings, job.rows
    live = job.live
    vectors = rows.embeddings if len(live) == len(rows) else rows.embeddings[live]
    if job.reference is not None:
        found, reference_rows, cosine = against_reference(vectors, job.reference.embeddings, eps)
        return (live[found], reference_rows, cosine), None, {}
    clusters = settings.clusters or default_clusters(len(live))
    if clustering is None and len(live):
        # rows are unit length already (see load.py)
        clustering = cluster(vectors, clusters, settings.seed, settings.probes)
    lengths = None
    if settings.keep == "longest":
        lengths = np.asarray(pc.utf8_length(joined(rows.texts).take(pa.array(live))).to_numpy(zero_copy_only=False))
    if not len(live):
        return None, clustering, {"clusters": 0}
    result = semantic_duplicates(vectors, eps=eps, clusters=clusters, keep=settings.keep, seed=settings.seed,
                                 lengths=lengths, clustering=clustering, engine=settings.engine,
                                 ray_address=settings.ray_address)
    return (live[result.removed], live[result.duplicate_of], result.cosine), clustering, {
        "clusters": result.clusters, "probes": int(clustering.probes.shape[1])}

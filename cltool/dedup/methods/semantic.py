"""semantic: SemDeDup over the deciding columns' embeddings (`cltool.dedup.semantic`): k-means, then
a row within `--eps` (cosine >= 1 - eps) of a row kept before it (in the `--keep` order) goes, rows
compared with those of their `--probes` nearest clusters; with --against, a row within eps of its
nearest reference row goes. With --dry-run and several `--eps` values, the summary says what each
would remove (one clustering serves them all)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cltool.dedup.methods.registry import Job, register
from cltool.errors import UsageError
from cltool.options import Options, option

if TYPE_CHECKING:
    import numpy as np

KEEP_ORDERS = ("farthest", "first", "centroid", "longest")  # which member of a duplicate group stays
# Each row is compared with the rows of its 6 nearest clusters, not only its own. Against an
# exhaustive search's removals on 128k Debian package descriptions (static model), SemDeDup's one
# cluster found 90.6% (eps 0.1) and 97.0% (eps 0.05); 4 probes 98.0% and 99.6%; 6 probes 98.7% and
# 99.7%, in 1.5x the time of one (bench/dedup.py, which also runs semhash)
DEFAULT_PROBES = 6


def _eps(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(e) for e in text.split(",") if e.strip())
    except ValueError:
        raise UsageError(f"--eps takes numbers, e.g. 0.05 or 0.01,0.03,0.05; got {text!r}") from None


@dataclass(frozen=True)
class Semantic(Options):
    eps: tuple[float, ...] = option((0.05,), "duplicates where cosine >= 1 - eps; several values with --dry-run.",
                                    kind="numbers", parse=_eps, above=0.0, below=1.0)
    clusters: int | None = option(None, "k-means clusters (default 1.5 sqrt(rows)).", kind="int", minimum=1)
    probes: int = option(DEFAULT_PROBES, "compare each row with the rows of its N nearest clusters (1: its own "
                         "only, SemDeDup's way; misses pairs across a cluster border).", minimum=1)
    keep: str = option("farthest", "which member of a duplicate group stays: farthest (from the centroid), first, "
                       "centroid, longest.", choices=KEEP_ORDERS)
    model: str | None = option(None, "embed the deciding columns here with this model (a folder, a cached Hub name, "
                               "static, openvino:MODEL) instead of reading their embedding columns: text in, one "
                               "process; through the embedding cache, as cltool embed.", kind="text")

    def validate(self, settings) -> None:
        if not self.eps:
            raise UsageError("--eps takes one number or more")
        if len(self.eps) > 1 and not (settings is not None and settings.dry_run):
            raise UsageError("several --eps values are for --dry-run, which compares them", hint="give one --eps")


@register("semantic", order=3, reason="semantic_duplicate", detail="cosine {similarity:.4f} with {duplicate_of}{where}",
          options=Semantic, embeddings=True, help="SemDeDup on the embeddings")
def semantic(job: Job) -> dict[str, Any]:
    settings, options = job.settings, job.options
    found, clustering, summary = _duplicates(job, options.eps[0])
    if found is not None:
        job.remove(*found)
    if settings.dry_run and len(options.eps) > 1:
        summary["removed_fraction_by_eps"] = {
            str(e): round(_count(_duplicates(job, e, clustering)[0]) / len(job.rows), 6) for e in options.eps}
    return summary


def _count(found: tuple[np.ndarray, ...] | None) -> int:
    return 0 if found is None else len(found[0])


def _duplicates(job: Job, eps: float, clustering=None):
    """(removed rows, the rows they duplicate, cosines) or None when no row is alive; the clustering
    (reused for another eps); the summary."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from cltool.dedup.semantic import against_reference, cluster, default_clusters, semantic_duplicates
    from cltool.dedup.text import joined
    from cltool.engine import Engine

    settings, options, rows = job.settings, job.options, job.rows
    live = job.live
    if job.reference is not None:
        vectors = rows.embeddings if len(live) == len(rows) else rows.embeddings[live]
        found, reference_rows, cosine = against_reference(vectors, job.reference.embeddings, eps)
        return (live[found], reference_rows, cosine), None, {}
    clusters = options.clusters or default_clusters(len(live))
    if clustering is None and len(live):
        # rows are unit length already (see load.py); the live rows are used in place, not copied
        clustering = cluster(rows.embeddings, clusters, settings.seed, options.probes, live)
    lengths = None
    if options.keep == "longest":
        lengths = np.asarray(pc.utf8_length(joined(rows.texts).take(pa.array(live))).to_numpy(zero_copy_only=False))
    if not len(live):
        return None, clustering, {"clusters": 0}
    result = semantic_duplicates(rows.embeddings, eps=eps, clusters=clusters, keep=options.keep, seed=settings.seed,
                                 lengths=lengths, clustering=clustering, engine=Engine.of(settings), rows=live)
    return (result.removed, result.duplicate_of, result.cosine), clustering, {
        "clusters": result.clusters, "probes": int(clustering.probes.shape[1])}

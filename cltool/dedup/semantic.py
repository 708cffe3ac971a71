"""SemDeDup (Abbas et al., 2023): spherical k-means on embeddings, then within each cluster the pairs
with cosine >= 1 - eps are duplicates.

Clusters are visited one at a time and their similarities computed in row blocks, so memory is
bounded by the largest block, never by n^2. Within a cluster, members are ranked by the `keep`
preference (SemDeDup's own: the member least similar to the centroid first) and the first-come
rule of `cltool.kernels.select` decides: a member goes when it is within eps of a kept member
ranked before it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

KEEP_ORDERS = ("farthest", "first", "centroid", "longest")
_BLOCK_CELLS = 1 << 24  # similarities held at once: 64 MB of float32


@dataclass
class SemanticResult:
    removed: np.ndarray
    duplicate_of: np.ndarray
    cosine: np.ndarray
    clusters: int


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; an array that already is (float32, contiguous) is returned as it is,
    not copied: at 1M x 384 every copy is 1.5 GB."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if np.allclose(norms, 1.0, atol=1e-4):
        return x
    return x / np.maximum(norms, 1e-12)


def float_tolerance(dim: int) -> float:
    """How far a float32 dot product of two unit vectors of `dim` components can be from the exact
    one (the worst-case rounding bound, dim x 2^-24, with room): pairs this close to a threshold are
    decided on their exact float64 dot product instead."""
    return 2.0 * dim * 2.0 ** -24 + 1e-7


def default_clusters(n: int) -> int:
    return max(1, int(round(math.sqrt(n))))


def cluster(embeddings: np.ndarray, clusters: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Spherical k-means with FAISS; returns (assignment per row, cosine to its centroid)."""
    import faiss

    n, dim = embeddings.shape
    clusters = min(clusters, n)
    kmeans = faiss.Kmeans(dim, clusters, niter=20, seed=seed, spherical=True, verbose=False,
                          max_points_per_centroid=256, min_points_per_centroid=1)
    kmeans.train(embeddings)
    similarity, assignment = kmeans.index.search(embeddings, 1)
    return assignment[:, 0].astype(np.int64), similarity[:, 0]


def _ranked(members: np.ndarray, to_centroid: np.ndarray, lengths: np.ndarray | None, keep: str) -> np.ndarray:
    if keep == "first":
        return members
    if keep == "longest":
        return members[np.lexsort((members, -lengths[members]))]
    key = to_centroid[members] if keep == "farthest" else -to_centroid[members]
    return members[np.lexsort((members, key))]


def cluster_members(labels: np.ndarray) -> list[np.ndarray]:
    """Each cluster's rows (ascending), clusters in label order; clusters of one row are left out:
    they hold no pair."""
    order = np.argsort(labels, kind="stable")
    members = np.split(order, np.flatnonzero(np.diff(labels[order])) + 1) if len(labels) else []
    return [m for m in members if len(m) > 1]


def duplicates_in_clusters(embeddings: np.ndarray, clusters: list[np.ndarray], to_centroid: np.ndarray,
                           lengths: np.ndarray | None, keep: str, eps: float):
    """(removed rows, the rows they duplicate, cosines) within each of `clusters`; a cluster's result
    depends on its members alone, so clusters can be split among workers."""
    from cltool.kernels.select import keep_first_dense

    threshold = 1.0 - eps
    tolerance = float_tolerance(embeddings.shape[1])
    removed, duplicate_of, cosine = [], [], []
    for members in clusters:
        ranked = _ranked(members, to_centroid, lengths, keep)
        vectors = embeddings[ranked]
        kept = np.ones(len(ranked), dtype=np.bool_)
        dup = np.full(len(ranked), -1, dtype=np.int64)
        score = np.zeros(len(ranked), dtype=np.float32)
        block = max(1, _BLOCK_CELLS // len(ranked))
        for start in range(0, len(ranked), block):
            end = min(start + block, len(ranked))
            sims = vectors[start:end] @ vectors[:end].T
            keep_first_dense(sims, start, vectors, kept, dup, score, threshold, tolerance)
        gone = np.nonzero(~kept)[0]
        removed.append(ranked[gone])
        duplicate_of.append(ranked[dup[gone]])
        cosine.append(score[gone])
    cat = lambda parts, dtype: np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)  # noqa: E731
    return cat(removed, np.int64), cat(duplicate_of, np.int64), cat(cosine, np.float32)


def semantic_duplicates(embeddings: np.ndarray, *, eps: float, clusters: int, keep: str, seed: int,
                        lengths: np.ndarray | None = None, assignment=None, engine: str = "local",
                        ray_address: str | None = None) -> SemanticResult:
    embeddings = unit_rows(embeddings)
    if assignment is None:
        assignment = cluster(embeddings, clusters, seed)
    labels, to_centroid = assignment
    members = cluster_members(labels)
    if engine == "ray":
        from cltool.dedup.ray_dedup import ray_duplicates_in_clusters

        found = ray_duplicates_in_clusters(embeddings, members, to_centroid, lengths, keep, eps, ray_address)
    else:
        found = duplicates_in_clusters(embeddings, members, to_centroid, lengths, keep, eps)
    removed, duplicate_of, _ = found
    return SemanticResult(removed, duplicate_of, exact_cosines(embeddings, removed, embeddings, duplicate_of),
                          int(labels.max()) + 1 if len(labels) else 0)


def exact_cosines(a: np.ndarray, rows: np.ndarray, b: np.ndarray, other_rows: np.ndarray,
                  rounded: bool = True) -> np.ndarray:
    """The cosines of (a[rows], b[other_rows]) as float64 dot products (rounded to float32 for the
    output): a float32 BLAS product rounds them differently with the number of threads and the block
    shape, and neither the decision nor the reported similarity should depend on that (nor on which
    engine ran)."""
    cosines = np.einsum("ij,ij->i", a[rows].astype(np.float64), b[other_rows].astype(np.float64))
    return cosines.astype(np.float32) if rounded else cosines


def against_reference(embeddings: np.ndarray, reference: np.ndarray, eps: float, block: int = 16_384):
    """Rows within eps (cosine >= 1 - eps) of their nearest reference row: (rows, reference rows, cosines)."""
    import faiss

    reference = unit_rows(reference)
    index = faiss.IndexFlatIP(reference.shape[1])
    index.add(reference)
    embeddings = unit_rows(embeddings)
    rows, refs = [], []
    near = 1.0 - eps - float_tolerance(reference.shape[1])  # FAISS's float32 cosines find; exact ones decide
    for start in range(0, len(embeddings), block):
        sims, nearest = index.search(embeddings[start:start + block], 1)
        hit = np.nonzero(sims[:, 0] >= near)[0]
        rows.append(hit + start)
        refs.append(nearest[hit, 0])
    rows, refs = np.concatenate(rows), np.concatenate(refs).astype(np.int64)
    cosines = exact_cosines(embeddings, rows, reference, refs, rounded=False)
    within = cosines >= 1.0 - eps
    return rows[within], refs[within], cosines[within].astype(np.float32)

"""Deduplication on Ray, with the same result as the local engine.

MinHash is a map and a group-by:
- map: contiguous parts of the texts are sketched by Ray tasks (shingle sets, signatures, band
  keys; each text's sketch depends on that text alone), each returning its shingle sets and one
  block of band keys per group of bands;
- group-by: one Ray task per group of bands gathers that group's keys from every part (parts in
  order, so row numbers are global) and buckets them by sorting (`band_pairs`);
- the driver merges the candidate pairs and verifies them by true Jaccard, then keeps the first
  text of each duplicate group (`verify`): that step is ordered, and cheap next to the sketches.

Semantic dedup clusters on the driver (FAISS k-means trains on at most 64 rows per centroid; then
every row finds its nearest centroids) and sends the clusters, in contiguous groups of about equal
work, to Ray tasks that share the embeddings through the object store; each returns its pairs, and
the driver applies the first-come rule to them all (ordered, and cheap next to the products).
`--against` (nearest reference row per row) runs on the driver.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from cltool.dedup.near import LshParams, NearResult, band_pairs, sketch, utf8_buffers, verify
from cltool.dedup.semantic import pairs_in_clusters
from cltool.engine import cluster_cpus, partitions, ray_session, task_threads


def _sketch_part(data: np.ndarray, offsets: np.ndarray, groups: list[tuple[int, int]], **options):
    task_threads()
    values, set_offsets, keys = sketch(data, offsets, **options)
    return (values, set_offsets), *(keys[a:b] for a, b in groups)


def _bucket_group(*key_parts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return band_pairs(np.concatenate(key_parts, axis=1), threads=task_threads())


def ray_near_duplicates(texts: pa.Array, *, threshold: float, ngram: int, char_ngrams: bool, num_perm: int,
                        seed: int, params: LshParams, reference_rows: int = 0,
                        address: str | None = None) -> NearResult:
    """`cltool.dedup.near.near_duplicates`, with sketching and bucketing in Ray tasks."""
    ray = ray_session(address)
    cpus = cluster_cpus(ray)
    data, offsets = utf8_buffers(texts)
    groups = partitions(params.bands, cpus)
    sketch_part = ray.remote(num_cpus=1, num_returns=1 + len(groups))(_sketch_part)
    parts = []
    for a, b in partitions(len(texts), 2 * cpus):
        start, stop = offsets[a], offsets[b]
        parts.append(sketch_part.remote(data[start:stop], offsets[a:b + 1] - start, groups, ngram=ngram,
                                        char_ngrams=char_ngrams, num_perm=num_perm, seed=seed, params=params))
    bucket_group = ray.remote(num_cpus=1)(_bucket_group)
    pair_futures = [bucket_group.remote(*(part[1 + g] for part in parts)) for g in range(len(groups))]
    sets = ray.get([part[0] for part in parts])
    values = np.concatenate([v for v, _ in sets])
    sizes = np.concatenate([np.diff(o) for _, o in sets])
    set_offsets = np.zeros(len(sizes) + 1, dtype=sets[0][1].dtype)
    np.cumsum(sizes, out=set_offsets[1:])
    del sets
    pairs = ray.get(pair_futures)
    del parts, pair_futures  # the key blocks can leave the object store
    left = np.concatenate([p[0] for p in pairs])
    right = np.concatenate([p[1] for p in pairs])
    del pairs
    return verify(len(texts), values, set_offsets, left, right, threshold, reference_rows)


def _clusters_part(embeddings, work, labels, ranks, eps):
    task_threads()
    return pairs_in_clusters(embeddings, work, labels, ranks, eps)


def ray_pairs_in_clusters(embeddings: np.ndarray, work: list, labels: np.ndarray, ranks: np.ndarray, eps: float,
                          address: str | None = None):
    """`cltool.dedup.semantic.pairs_in_clusters`, clusters split among Ray tasks."""
    ray = ray_session(address)
    if not work:
        return pairs_in_clusters(embeddings, work, labels, ranks, eps)
    shared = [ray.put(x) for x in (embeddings, labels, ranks)]
    # contiguous groups of clusters with about equal work (a cluster costs its probing x home rows)
    cost = np.cumsum([len(home) * len(probing) for _, home, probing in work], dtype=np.float64)
    parts = min(len(work), 2 * cluster_cpus(ray))
    cuts = np.searchsorted(cost, cost[-1] * np.arange(1, parts) / parts, side="right")
    bounds = [0, *sorted(set(int(c) for c in cuts if 0 < c < len(work))), len(work)]
    remote = ray.remote(num_cpus=1)(_clusters_part)
    futures = [remote.remote(shared[0], work[a:b], shared[1], shared[2], eps) for a, b in zip(bounds, bounds[1:])]
    found = ray.get(futures)  # in cluster order, as the local engine finds them
    return tuple(np.concatenate([f[i] for f in found]) for i in range(3))

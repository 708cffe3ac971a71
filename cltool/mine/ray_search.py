"""Mining on Ray: the candidates (exact search) or the IVF index are put in the object store once,
and partitions of the queries are searched against them by Ray tasks, one per partition. Each
query's result depends only on the query and the shared candidates (the top-k merge breaks ties by
candidate id), so the output equals the local engine's."""

from __future__ import annotations

import numpy as np

from cltool.engine import cluster_cpus, partitions, ray_session, task_threads
from cltool.mine.search import IvfIndex, Reach, SearchPlan, exact_search


def _search_part(shared, queries: np.ndarray, k: int, plan: SearchPlan) -> tuple[np.ndarray, np.ndarray]:
    task_threads()
    if plan.index == "ivf":
        return shared.search(queries, k, plan.nprobe)
    return exact_search(queries, shared, k, product=plan.product)


def ray_search(queries: np.ndarray, candidates: np.ndarray, k: int, plan: SearchPlan, task=None, seed: int = 1,
               address: str | None = None, index: IvfIndex | None = None) -> tuple[np.ndarray, np.ndarray, Reach]:
    """Like `cltool.mine.search.search`: the top k, and what each query's search could reach."""
    ray = ray_session(address)
    if plan.index == "ivf" and index is None:
        index = IvfIndex.build(candidates, plan.nlist, seed)
    elif plan.index != "ivf":
        index = None
    shared = ray.put(index if index is not None else candidates)
    remote = ray.remote(num_cpus=1)(_search_part)
    ranges = partitions(len(queries), 2 * cluster_cpus(ray))
    futures = [remote.remote(shared, queries[a:b], k, plan) for a, b in ranges]
    scores, ids = [], []
    for (a, b), future in zip(ranges, futures):  # in order: the output keeps the queries' order
        part_scores, part_ids = ray.get(future)
        scores.append(part_scores)
        ids.append(part_ids)
        if task is not None:
            task.advance(b - a)
    return np.concatenate(scores), np.concatenate(ids), index.reach(plan.nprobe) if index is not None else None

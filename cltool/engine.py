"""Where a step runs: `local` (this process, all cores) or `ray` (a Ray cluster, or a local Ray
instance when no address is given). Chosen with `--engine` or CLTOOL_ENGINE; the Ray address with
`--ray-address` or RAY_ADDRESS. Ray is an optional extra: `pip install 'cltool[ray]'`.

A strategy does not ask which engine was chosen: it calls the work it needs on `Engine.of(settings)`
(`search`, `near_duplicates`, `pairs_in_clusters`), and `Local` runs it here while `Ray` hands it to
the step's `ray_*.py`. Both return the same values for the same input. Nothing here imports Ray, or a
step's modules, until the work is called: the CLI reads this module at start-up.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from cltool.dedup.near import NearResult
    from cltool.mine.search import Reach, SearchPlan

ENGINES = ("local", "ray")


def resolve(engine: str | None) -> str:
    engine = (engine or os.environ.get("CLTOOL_ENGINE") or "local").strip().lower()
    if engine not in ENGINES:
        from cltool.errors import UsageError

        raise UsageError(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    return engine


class Engine:
    """The distributed work the strategies need, run where the step's settings chose."""

    @staticmethod
    def of(settings: Any) -> Local | Ray:
        """The engine a step's settings chose (their `engine`, resolved by `check`, and `ray_address`)."""
        return Ray(settings.ray_address) if settings.engine == "ray" else Local()

    def search(self, queries: np.ndarray, candidates: np.ndarray, k: int, plan: SearchPlan, task=None,
               seed: int = 1, index=None) -> tuple[np.ndarray, np.ndarray, Reach]:
        """`cltool.mine.search.search`: each query's top k candidates, and what its search could reach
        (`index`: an IVF index already built for the plan)."""
        raise NotImplementedError

    def near_duplicates(self, texts: pa.Array, **options: Any) -> NearResult:
        """`cltool.dedup.near.near_duplicates`: MinHash + LSH, verified by true Jaccard."""
        raise NotImplementedError

    def pairs_in_clusters(self, embeddings: np.ndarray, work: list, labels: np.ndarray, ranks: np.ndarray,
                          eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`cltool.dedup.semantic.pairs_in_clusters`: the pairs within eps inside each cluster's work."""
        raise NotImplementedError


class Local(Engine):
    """This process, all cores."""

    def search(self, queries, candidates, k, plan, task=None, seed=1, index=None):
        from cltool.mine.search import search

        return search(queries, candidates, k, plan, task, seed, index)

    def near_duplicates(self, texts, **options):
        from cltool.dedup.near import near_duplicates

        return near_duplicates(texts, **options)

    def pairs_in_clusters(self, embeddings, work, labels, ranks, eps):
        from cltool.dedup.semantic import pairs_in_clusters

        return pairs_in_clusters(embeddings, work, labels, ranks, eps)


@dataclass(frozen=True)
class Ray(Engine):
    """Ray tasks on the cluster at `address` (None: RAY_ADDRESS, else a Ray instance started here)."""

    address: str | None = None

    def search(self, queries, candidates, k, plan, task=None, seed=1, index=None):
        from cltool.mine.ray_search import ray_search

        return ray_search(queries, candidates, k, plan, task, seed, self.address, index)

    def near_duplicates(self, texts, **options):
        from cltool.dedup.ray_dedup import ray_near_duplicates

        return ray_near_duplicates(texts, **options, address=self.address)

    def pairs_in_clusters(self, embeddings, work, labels, ranks, eps):
        from cltool.dedup.ray_dedup import ray_pairs_in_clusters

        return ray_pairs_in_clusters(embeddings, work, labels, ranks, eps, self.address)


def ray_session(address: str | None = None):
    """The `ray` module, connected: to `address` (or RAY_ADDRESS) when given, else to a Ray instance
    started here with this machine's cores. Reuses a connection this process already has."""
    try:
        import ray
    except ImportError:
        from cltool.errors import UsageError

        raise UsageError("--engine ray needs Ray, which is not installed",
                         hint="pip install 'cltool[ray]' (or pip install 'ray[data]'), or use --engine local") from None
    if not ray.is_initialized():
        import logging

        # Ray's start-up notices (a local instance, token auth) would land on our stderr, which is
        # for cltool's own summary: only Ray's errors get through.
        logging.getLogger("ray").setLevel(logging.ERROR)
        address = address or os.environ.get("RAY_ADDRESS")
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
                 configure_logging=False, ignore_reinit_error=True)
    return ray


def partitions(rows: int, parts: int) -> list[tuple[int, int]]:
    """`parts` contiguous (start, stop) ranges covering `rows`, none empty (one empty range for 0 rows)."""
    parts = max(1, min(parts, rows))
    return [(rows * i // parts, rows * (i + 1) // parts) for i in range(parts)]


def cluster_cpus(ray) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def cpus_per_actor(ray, actors: int) -> int:
    """The most CPUs each of `actors` equal actors can ask for and all still be placed on the
    cluster's nodes (an actor lives on one node); 1 when even that does not fit."""
    nodes = [int(n.get("Resources", {}).get("CPU", 0)) for n in ray.nodes() if n.get("Alive")]
    for threads in range(max(1, cluster_cpus(ray) // max(1, actors)), 1, -1):
        if sum(cpus // threads for cpus in nodes) >= actors:
            return threads
    return 1


def task_threads() -> int:
    """Inside a Ray task: size Numba's thread pool to the CPUs Ray gave the task, so that tasks sharing
    a node do not each start one thread per core. Returns that count."""
    import cltool.kernels.setup  # noqa: F401  (first: it sets the kernels' CPU target before Numba reads it)
    import numba
    import ray

    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1)
    threads = max(1, min(numba.config.NUMBA_NUM_THREADS, int(cpus)))
    numba.set_num_threads(threads)
    return threads

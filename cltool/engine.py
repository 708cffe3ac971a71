"""Where a step runs: `local` (this process, all cores) or `ray` (a Ray cluster, or a local Ray
instance when no address is given). Chosen with `--engine` or CLTOOL_ENGINE; the Ray address with
`--ray-address` or RAY_ADDRESS. Ray is an optional extra: `pip install 'cltool[ray]'`."""

from __future__ import annotations

import os

ENGINES = ("local", "ray")


def resolve(engine: str | None) -> str:
    engine = (engine or os.environ.get("CLTOOL_ENGINE") or "local").strip().lower()
    if engine not in ENGINES:
        from cltool.errors import UsageError

        raise UsageError(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    return engine


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
    import cltool.kernels  # noqa: F401  (first: it sets the kernels' CPU target before Numba reads it)
    import numba
    import ray

    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1)
    threads = max(1, min(numba.config.NUMBA_NUM_THREADS, int(cpus)))
    numba.set_num_threads(threads)
    return threads

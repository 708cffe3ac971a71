"""Embedding on Ray: an actor pool, one model per actor (a GPU each where the cluster has them and
--device asks for one), fed the same chunks of rows the local engine embeds one after the other.

The chunks are the local engine's own, in the same order, and each actor embeds a chunk exactly as
the local engine does (unique texts, sorted by length, in the same slices), so the vectors come out
the same. Actors do not read or write the embedding cache: it is a file on this machine. At most two
chunks per actor are in flight, so memory stays bounded by the chunk size, not the dataset.

On CPUs there are no more actors than chunks, and each actor gets its share of the cores for
torch's threads: a dataset of one chunk is embedded by one actor with every core, not by one
single-threaded actor while the others wait. CLTOOL_THREADS, when set, is each actor's thread count
instead, as it is the local engine's: torch's CPU kernels may sum in another order with another
number of threads, so only the same count gives the local engine's bytes (otherwise the vectors
agree to within rounding: a cosine of 1 - 1e-6 or closer).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from cltool.embed.model import torch_threads
from cltool.engine import cluster_cpus, cpus_per_actor, ray_session

if TYPE_CHECKING:
    from cltool.embed.plan import Plan


class _EmbedActor:
    def __init__(self, plan: Plan, device: str, threads: int):
        import torch

        torch.set_num_threads(threads)

        self.plan = plan
        self.embedder = plan.embedder(None, device, threads)

    def embed(self, table: pa.Table) -> tuple[pa.Table, dict[str, Any]]:
        before = {k: getattr(self.embedder, k) for k in ("texts", "unique", "encoded", "encode_seconds")}
        table = self.plan.embed_table(table, self.embedder)
        stats = {k: getattr(self.embedder, k) - v for k, v in before.items()}
        stats["dimension"] = self.embedder.dimension
        stats["threads"] = self.embedder.threads
        return table, stats


def embed_chunks(chunks: Iterable[pa.Table], stats: Counter, plan: Plan, *,
                 expected_chunks: int | None) -> Iterator[pa.Table]:
    """Embed the chunks on Ray, yielding them in their input order; adds each chunk's counts to stats."""
    device = plan.settings.device
    ray = ray_session(plan.settings.ray_address)
    gpus = int(ray.cluster_resources().get("GPU", 0))
    use_gpu = device.startswith("cuda") and gpus > 0
    cpus = cluster_cpus(ray)
    fixed = None if use_gpu else torch_threads()
    slots = gpus if use_gpu else max(1, cpus // (fixed or 1))
    count = max(1, min(slots, expected_chunks or slots))
    share = 1 if use_gpu else cpus_per_actor(ray, count)  # what lets every actor be placed
    threads = fixed or share
    actor = ray.remote(num_cpus=min(threads, share), num_gpus=1 if use_gpu else 0)(_EmbedActor)
    pool = [actor.remote(plan, device=device if use_gpu else "cpu", threads=threads) for _ in range(count)]
    in_flight: deque = deque()
    turn = 0

    def collect():
        table, chunk_stats = ray.get(in_flight.popleft())
        dimension, threads = chunk_stats.pop("dimension"), chunk_stats.pop("threads")
        stats.update(chunk_stats)
        if dimension:
            stats["dimension"] = dimension
        if threads:
            stats["threads"] = threads
        return table

    for table in chunks:
        in_flight.append(pool[turn % len(pool)].embed.remote(table))
        turn += 1
        if len(in_flight) >= 2 * len(pool):
            yield collect()
    while in_flight:
        yield collect()

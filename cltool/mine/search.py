"""Nearest candidates per query: exact (blockwise BLAS + Numba top-k), IVF, or FAISS HNSW.

Exact search scores one block of queries against one block of candidates at a time (a single
float32 matrix product) and merges it into a running top-k, so memory is bounded by the block, never
by queries x candidates.

IVF clusters the candidates (spherical k-means, FAISS) into inverted lists and sends each query to
its `nprobe` nearest lists. The lists are then visited one at a time, and all the queries that
probe a list are scored against its members by one matrix product: the same work as FAISS's
IndexIVFFlat, but at BLAS speed rather than one query at a time. HNSW is FAISS's, on inner product
(the cosine, for the unit vectors used here).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from cltool.errors import UsageError
from cltool.progress import NullTask

INDEXES = ("auto", "flat", "ivf", "hnsw")
# auto: exact search up to this many query x candidate scores (about 6 minutes on 2 cores in float32;
# about 3x as many where exact search takes the bf16 product), IVF above.
EXACT_PAIRS_LIMIT = 50_000_000_000
_QUERY_BLOCK = 8192
_CANDIDATE_BLOCK = 16_384  # 8192 x 16384 float32 (512 MB): larger blocks measured closest to the BLAS rate
# a bf16 product's blocks: 2048 x 8192 (32 MB) merged faster than larger ones, at the same product rate
_BF16_QUERY_BLOCK, _BF16_CANDIDATE_BLOCK = 2048, 8192
# A float32 BLAS product rounds the same score differently with the shape of its block (how the
# queries were partitioned, how many threads, which CPU kernel): two candidates within a few ulps of
# each other could land on either side of the k-th place. So the search keeps this many more, and
# `exact_top` cuts at k only once every score is an exact dot product.
RESCORE_SLACK = 8
# Copies of one text (equal vectors) are not even scored alike by one product: a float32 BLAS kernel
# rounds a column differently with its position in the block. When a query's kept list ends this
# close to its exact k-th score, a candidate just outside it could belong inside (many copies at the
# cut outnumber the slack), so `exact_top` searches that query again, exactly. Copies differ by a few
# float32 ulps (about 1e-7); a float32 product of unit vectors of up to about 1,500 dimensions rounds
# by about 1e-6. A band much wider sweeps in real lists at depth, where scores are dense: at 1e-4,
# most of 45,000 anchors searched 1,024 deep among 68,000 code texts were searched twice.
TIE_BAND = 1e-5
# Exact search's matrix product: float32, or bf16 (torch, oneDNN) where the CPU computes bf16 natively
# and the product is large enough to repay importing torch (about 1.5 s): half the float32 time on
# AVX512-BF16 or AMX. A bf16 score is only a shortlist's: it may be off by `product_error` (inputs
# and output rounded to 8 mantissa bits), so the search keeps more (`searched_depth`) and `exact_top`
# rescores them exactly and searches again, in float32, any query whose shortlist could have missed
# one of its exact top k. The result is the float32 search's, to the byte.
PRODUCTS = ("auto", "float32", "bfloat16")
BF16_MIN_WORK = 4e11  # queries x candidates x dimensions
# A deeper search keeps a longer bf16 shortlist (k + 16 + k/2), whose merge and rescoring outgrow what
# the product saves: 1.25x faster at depth 98 (61k Debian anchors x 41k), 1.9x slower at depth 460
# (62k x 69k code texts)
BF16_MAX_DEPTH = 128

# An IVF search costs about this many times a float32 exact search per candidate it scans (a gather
# of each list's members, a product and a merge per list): on 50k anchors x 2M synthetic candidates
# (2 cores) it scanned a third of them at about 57 GFLOP/s, where exact search's float32 product runs
# at 250
IVF_SCAN_COST = 4.0
# exact search by a bf16 product, per score, against float32: 72 s for that search, whose float32
# product alone would take 205 s
BF16_EXACT_COST = 0.35


def exact_is_faster(scanned_share: float, exact_product: str) -> bool:
    """Whether exact search (by `exact_product`) takes no longer than an IVF search scanning this
    share of the candidates."""
    return scanned_share * IVF_SCAN_COST >= (BF16_EXACT_COST if exact_product == "bfloat16" else 1.0)


# What a query's search could reach: every candidate (None), or for an IVF search a function from
# query vectors to the candidates of the lists each one probes.
Reach = Callable[[np.ndarray], list[np.ndarray]] | None


@dataclass
class SearchPlan:
    index: str
    nlist: int | None = None
    nprobe: int | None = None
    hnsw_m: int | None = None
    ef_search: int | None = None
    product: str = "float32"  # exact search's matrix product: float32 or bfloat16 (a shortlist, rescored)

    def describe(self) -> dict[str, Any]:
        plan = {"index": self.index, "nlist": self.nlist, "nprobe": self.nprobe, "hnsw_m": self.hnsw_m,
                "ef_search": self.ef_search, "product": self.product if self.index == "flat" else None}
        return {key: value for key, value in plan.items() if value is not None}


def plan_search(index: str, queries: int, candidates: int, k: int, nprobe: int | None = None,
                nlist: int | None = None, ef_search: int | None = None, dim: int = 0) -> SearchPlan:
    """Choose the index (auto: exact unless the product is large) and its parameters."""
    if index not in INDEXES:
        raise UsageError(f"--index must be one of {', '.join(INDEXES)}, not {index!r}")
    product = choose_product(queries * candidates * dim, k) if index in ("auto", "flat") else "float32"
    if index == "auto":  # a bf16 product scores about three times as many pairs in the same time
        limit = EXACT_PAIRS_LIMIT / (BF16_EXACT_COST if product == "bfloat16" else 1.0)
        index = "flat" if queries * candidates <= limit else "ivf"
    if index == "ivf":
        # 4 sqrt(n) lists (FAISS's guideline; it gave the best recall per candidate scored in
        # bench/mine_scale.py), each with at least 39 members to train on
        lists = nlist or max(1, min(round(4 * math.sqrt(candidates)), candidates // 39))
        # about 4% of the lists: a candidate recall of 0.95 at 1M x 1M (bench/mine_scale.py)
        probes = nprobe or max(32, math.ceil(lists / 24))
        return SearchPlan("ivf", nlist=lists, nprobe=min(probes, lists))
    if index == "hnsw":
        return SearchPlan("hnsw", hnsw_m=32, ef_search=ef_search or max(2 * k, 128))
    return SearchPlan("flat", product=product)


def choose_product(work: int, depth: int) -> str:
    """float32 or bfloat16 for an exact search of `work` multiply-adds, `depth` deep: CLTOOL_SEARCH_PRODUCT
    when set (auto, float32, bfloat16), else bf16 only where the CPU has native bf16, torch is
    installed, the work repays importing it and the search is shallow enough (BF16_MAX_DEPTH)."""
    import importlib.util
    import os

    from cltool.embed.backend import native_bf16

    chosen = os.environ.get("CLTOOL_SEARCH_PRODUCT", "").strip() or "auto"
    if chosen not in PRODUCTS:
        raise UsageError(f"CLTOOL_SEARCH_PRODUCT must be one of {', '.join(PRODUCTS)}, not {chosen!r}")
    if chosen != "auto":
        return chosen
    if (work >= BF16_MIN_WORK and depth <= BF16_MAX_DEPTH and native_bf16()
            and importlib.util.find_spec("torch") is not None):
        return "bfloat16"
    return "float32"


def import_torch_early(queries: int, candidates: int, dim: int, depth: int, index: str) -> None:
    """Start importing torch on a thread when an exact search will likely take the bf16 product, so
    that its 1-1.5 s overlap loading the vectors (the search's `import torch` then waits for it).
    The sizes are upper bounds (rows before duplicates go), the depth a lower one."""
    import importlib
    import threading

    if index in ("auto", "flat") and choose_product(queries * candidates * dim, depth) == "bfloat16":
        # not a daemon: a run that fails before its search waits for the import rather than tearing
        # the interpreter down under it
        threading.Thread(target=importlib.import_module, args=("torch",), name="import torch").start()


def product_error(product: str, queries: np.ndarray, candidates: np.ndarray) -> np.ndarray | float:
    """A bound on how far each query's searched scores may be from its exact dot products: 0 for
    float32 (TIE_BAND covers its rounding), and for bf16 |q| max|c| (2^-8 + 2^-9) plus float32
    accumulation: each input rounded to 8 mantissa bits (relative error 2^-9 each, so 2^-8 on a
    product, by Cauchy-Schwarz on the whole sum), the output rounded once more (2^-9 of |score|)."""
    if product != "bfloat16":
        return 0.0
    dim = queries.shape[1]
    reach = np.linalg.norm(queries, axis=1).astype(np.float64) * float(np.linalg.norm(candidates, axis=1).max(initial=0))
    return reach * (2.0 ** -8 + 2.0 ** -9 + 2.0 ** -16 + dim * 2.0 ** -23)


def search(queries: np.ndarray, candidates: np.ndarray, k: int, plan: SearchPlan, task=None,
           seed: int = 1, index: IvfIndex | None = None) -> tuple[np.ndarray, np.ndarray, Reach]:
    """Top-k candidates per query, best first: (scores float32, candidate indices int32, -1 when none),
    and what each query's search could reach (for `exact_top`). An IVF plan uses `index` when given
    (built once for the recall's tuning), else builds one."""
    task = task or NullTask()
    if plan.index == "flat":
        return *exact_search(queries, candidates, k, task, plan.product), None
    if plan.index == "ivf":
        index = index if index is not None else IvfIndex.build(candidates, plan.nlist, seed)
        return *index.search(queries, k, plan.nprobe, task), index.reach(plan.nprobe)
    return *_hnsw_search(queries, candidates, k, plan, task), None


def exact_search(queries: np.ndarray, candidates: np.ndarray, k: int, task=None,
                 product: str = "float32") -> tuple[np.ndarray, np.ndarray]:
    """The top k candidates of each query by one product (float32, or bfloat16: see PRODUCTS), best
    first; with bfloat16 the scores are bf16's, for `exact_top` to rescore."""
    from cltool.kernels.topk import empty_topk, merge_block

    task = task or NullTask()
    top_scores, top_ids = empty_topk(len(queries), k)
    with (_bf16_product if product == "bfloat16" else _float32_product)(queries, candidates) as (rows, columns, score):
        for q0 in range(0, len(queries), rows):
            q1 = min(q0 + rows, len(queries))
            # the running top-k of this query block stays in cache while every candidate block passes
            scores, ids = top_scores[q0:q1], top_ids[q0:q1]
            for c0 in range(0, len(candidates), columns):
                c1 = min(c0 + columns, len(candidates))
                merge_block(score(q0, q1, c0, c1), c0, scores, ids)
            task.advance(q1 - q0)
    return top_scores, top_ids


@contextlib.contextmanager
def _float32_product(queries: np.ndarray, candidates: np.ndarray):
    """(query rows, candidate columns, score) of a float32 BLAS product: score(q0, q1, c0, c1) is
    that block of scores, in one reused buffer."""
    block = np.empty(min(_QUERY_BLOCK, len(queries)) * min(_CANDIDATE_BLOCK, len(candidates)), dtype=np.float32)

    def score(q0: int, q1: int, c0: int, c1: int) -> np.ndarray:
        # the buffer's front as one C-contiguous block: a column slice of it (the last, partial
        # block) would be a second layout, which Numba compiles _merge again for (~10 s)
        out = block[:(q1 - q0) * (c1 - c0)].reshape(q1 - q0, c1 - c0)
        return np.matmul(queries[q0:q1], candidates[c0:c1].T, out=out)

    yield _QUERY_BLOCK, _CANDIDATE_BLOCK, score


@contextlib.contextmanager
def _bf16_product(queries: np.ndarray, candidates: np.ndarray):
    """The same for a bf16 product (torch: oneDNN's AVX512-BF16 or AMX kernels), whose blocks are
    the bf16 bits viewed as int16, merged directly (half the memory traffic of float32 scores), on
    as many threads as the merge (in a Ray task, its share of the node), the caller's after."""
    import cltool.kernels.setup  # noqa: F401  (first: it sets the kernels' CPU target before Numba reads it)
    import numba
    import torch

    def bf16(x: np.ndarray):
        return torch.from_numpy(x if x.flags.writeable else x.copy()).to(torch.bfloat16)

    query_vectors, candidate_vectors = bf16(queries), bf16(candidates)
    rows, columns = _BF16_QUERY_BLOCK, _BF16_CANDIDATE_BLOCK
    block = torch.empty(min(rows, len(queries)) * min(columns, len(candidates)), dtype=torch.bfloat16)

    def score(q0: int, q1: int, c0: int, c1: int) -> np.ndarray:
        out = block[:(q1 - q0) * (c1 - c0)].view(q1 - q0, c1 - c0)
        torch.matmul(query_vectors[q0:q1], candidate_vectors[c0:c1].T, out=out)
        return out.view(torch.int16).numpy()

    callers_threads = torch.get_num_threads()
    torch.set_num_threads(numba.get_num_threads())
    try:
        yield rows, columns, score
    finally:
        torch.set_num_threads(callers_threads)


@dataclass
class IvfIndex:
    """Candidates grouped into inverted lists around spherical k-means centroids: built once, then
    searched by any number of query partitions (the Ray engine ships it through the object store)."""

    candidates: np.ndarray
    centroids: np.ndarray
    list_starts: np.ndarray
    members: np.ndarray

    @classmethod
    def build(cls, candidates: np.ndarray, nlist: int, seed: int = 1) -> IvfIndex:
        from cltool.kernels.topk import invert_lists

        centroids = _train_centroids(candidates, nlist, seed)
        home = _nearest_lists(candidates, centroids, 1)
        list_starts, members = invert_lists(home, len(centroids))
        return cls(candidates, centroids, list_starts, members)

    def search(self, queries: np.ndarray, k: int, nprobe: int, task=None) -> tuple[np.ndarray, np.ndarray]:
        from cltool.kernels.topk import empty_topk, gather_rows, invert_lists, merge_rows

        task = task or NullTask()
        nlist = len(self.centroids)
        # for each list, the queries that probe it
        probes = _nearest_lists(queries, self.centroids, min(nprobe, nlist))
        probe_starts, probing = invert_lists(probes, nlist)
        del probes
        top_scores, top_ids = empty_topk(len(queries), k)
        list_starts, members, candidates = self.list_starts, self.members, self.candidates
        # one workspace for the whole scan, reshaped per list: a fresh array per list was page-faulted
        # in again each time, and numpy's fancy indexing gathered rows at a third of the memory rate
        widest = int(np.diff(list_starts).max())
        busiest = min(int(np.diff(probe_starts).max()), _QUERY_BLOCK)
        dim = candidates.shape[1]
        list_buffer = np.empty(widest * dim, dtype=np.float32)
        query_buffer = np.empty(busiest * dim, dtype=np.float32)
        score_buffer = np.empty(busiest * widest, dtype=np.float32)
        reported = 0
        for cell in range(nlist):
            ids = members[list_starts[cell]:list_starts[cell + 1]]
            who = probing[probe_starts[cell]:probe_starts[cell + 1]]
            if len(ids) and len(who):
                block = gather_rows(candidates, ids, list_buffer)
                for q0 in range(0, len(who), _QUERY_BLOCK):
                    rows = who[q0:q0 + _QUERY_BLOCK]
                    scores = score_buffer[:len(rows) * len(ids)].reshape(len(rows), len(ids))
                    np.matmul(gather_rows(queries, rows, query_buffer), block.T, out=scores)
                    merge_rows(scores, ids, rows, top_scores, top_ids)
            done = len(queries) * (cell + 1) // nlist
            task.advance(done - reported)
            reported = done
        return top_scores, top_ids

    def scanned_share(self, queries: np.ndarray, nprobe: int) -> float:
        """The mean share of the candidates a query's search scans at `nprobe` (its lists' members)."""
        sizes = np.diff(self.list_starts)
        probes = _nearest_lists(queries, self.centroids, min(nprobe, len(self.centroids)))
        return float(sizes[probes.astype(np.int64)].sum(axis=1).mean() / max(len(self.members), 1))

    def reach(self, nprobe: int) -> Callable[[np.ndarray], list[np.ndarray]]:
        """For query vectors: the candidates of the lists each one probes (the same lists in any partition)."""
        def members(queries: np.ndarray) -> list[np.ndarray]:
            probes = _nearest_lists(queries, self.centroids, min(nprobe, len(self.centroids)))
            return [np.concatenate([self.members[self.list_starts[c]:self.list_starts[c + 1]] for c in row.tolist()])
                    for row in probes]
        return members


def ivf_search(queries: np.ndarray, candidates: np.ndarray, k: int, nlist: int, nprobe: int, task=None,
               seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    return IvfIndex.build(candidates, nlist, seed).search(queries, k, nprobe, task)


def exact_top(queries: np.ndarray, candidates: np.ndarray, scores: np.ndarray, ids: np.ndarray,
              k: int, reach: Reach = None, error: np.ndarray | float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The best k of a search that kept k + RESCORE_SLACK (or more), by exact scores: each kept score
    recomputed as a float64 dot product, the rows re-sorted (ties: smaller id), then cut. A query
    whose kept list ends within TIE_BAND (plus `error`, how far the search's own scores may be off:
    `product_error`) of its exact k-th score is searched again exactly over what its search could
    reach (`reach`: every candidate when None). The result depends only on the query and the
    candidates, not on how or where the search ran, nor on its product."""
    from cltool.kernels.topk import rescore_topk

    kept_end = scores[:, -1].copy() if scores.shape[1] > k else None  # float32, as the search scored it
    rescore_topk(queries, candidates, scores, ids)
    if kept_end is not None:
        band = TIE_BAND + np.asarray(error, dtype=np.float64)
        at_risk = np.nonzero((ids[:, -1] >= 0) & (scores[:, k - 1].astype(np.float64) - kept_end <= band))[0]
        if len(at_risk):
            _search_again(queries, candidates, scores, ids, at_risk, k, reach)
    if scores.shape[1] == k:
        return scores, ids
    return np.ascontiguousarray(scores[:, :k]), np.ascontiguousarray(ids[:, :k])


def _search_again(queries: np.ndarray, candidates: np.ndarray, scores: np.ndarray, ids: np.ndarray,
                  rows: np.ndarray, k: int, reach: Reach) -> None:
    """Rows `rows` of (scores, ids) replaced by the exact ranking of every candidate within 2 x
    TIE_BAND of their exact k-th score (by float32: a superset of the exact top k), best first."""
    from cltool.kernels.topk import rescore_topk

    floors = scores[rows, k - 1].astype(np.float64) - 2 * TIE_BAND
    if reach is None:  # every candidate: blocks of them against all the rows at once
        found: list[list[np.ndarray]] = [[] for _ in rows]
        for c0 in range(0, len(candidates), _CANDIDATE_BLOCK):
            block = queries[rows] @ candidates[c0:c0 + _CANDIDATE_BLOCK].T
            hit_rows, hit_cols = np.nonzero(block >= floors[:, None])  # row-major: rows ascending
            bounds = np.searchsorted(hit_rows, np.arange(len(rows) + 1))
            for i in np.unique(hit_rows).tolist():
                found[i].append(c0 + hit_cols[bounds[i]:bounds[i + 1]])
        pools = [np.concatenate(parts) if parts else np.empty(0, dtype=np.int64) for parts in found]
    else:
        pools = []
        for i, members in enumerate(reach(queries[rows])):
            pools.append(members[candidates[members] @ queries[rows[i]] >= floors[i]])
    width = ids.shape[1]
    for i, r in enumerate(rows.tolist()):
        pool = np.sort(pools[i]).astype(np.int32)
        top_scores = (candidates[pool] @ queries[r]).astype(np.float32)[None, :]
        order = np.lexsort((pool, -top_scores[0]))  # nearly sorted for the exact pass that follows
        top_scores, top_ids = np.ascontiguousarray(top_scores[:, order]), np.ascontiguousarray(pool[order][None, :])
        rescore_topk(queries[r:r + 1], candidates, top_scores, top_ids)
        n = min(width, top_ids.shape[1])
        scores[r], ids[r] = -np.inf, -1
        scores[r, :n], ids[r, :n] = top_scores[0, :n], top_ids[0, :n]


def exact_search_top(queries: np.ndarray, candidates: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact search for the top k by exact scores: k + RESCORE_SLACK searched, rescored, cut."""
    return exact_top(queries, candidates, *exact_search(queries, candidates, searched_depth(k, len(candidates))), k)


def searched_depth(k: int, candidates: int, product: str = "float32") -> int:
    """How deep to search for an exact top k: RESCORE_SLACK more (a bf16 shortlist: 16 + k/2 more, so
    that few queries' shortlists end within its error of their k-th score: on 60k Debian anchors 98
    deep, 1.5%), no deeper than the candidates (but never less than k, so the result keeps its k
    columns)."""
    slack = RESCORE_SLACK if product != "bfloat16" else 16 + k // 2
    return max(k, min(k + slack, candidates))


def _nearest_lists(x: np.ndarray, centroids: np.ndarray, n: int) -> np.ndarray:
    """The n nearest centroids of each row (by exact scores, so a query probes the same lists in any
    partition), a chunk of rows at a time: the int32 ids and float32 scores of a whole 1M x nprobe
    search would be 1.3 GB for nothing; uint16 where it fits."""
    out = np.empty((len(x), n), dtype=np.uint16 if len(centroids) <= np.iinfo(np.uint16).max else np.int32)
    for start in range(0, len(x), 65_536):
        out[start:start + 65_536] = exact_search_top(x[start:start + 65_536], centroids, n)[1]
    return out


def _train_centroids(candidates: np.ndarray, nlist: int, seed: int) -> np.ndarray:
    """Spherical k-means on a sample of 40 points per list (FAISS's floor for a stable fit), 8 rounds."""
    import faiss

    nlist = max(1, min(nlist, len(candidates)))
    sample = candidates
    if len(candidates) > 40 * nlist:
        rng = np.random.default_rng(seed)
        sample = candidates[np.sort(rng.choice(len(candidates), 40 * nlist, replace=False))]
    kmeans = faiss.Kmeans(candidates.shape[1], nlist, niter=8, seed=seed, spherical=True, verbose=False,
                          max_points_per_centroid=40, min_points_per_centroid=1)
    kmeans.train(np.ascontiguousarray(sample))
    return kmeans.centroids


def _hnsw_search(queries, candidates, k, plan: SearchPlan, task) -> tuple[np.ndarray, np.ndarray]:
    import faiss

    from cltool.kernels.topk import empty_topk

    index = faiss.IndexHNSWFlat(candidates.shape[1], plan.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 80
    index.hnsw.efSearch = plan.ef_search
    index.add(candidates)
    k_search = min(k, len(candidates))
    scores, ids = empty_topk(len(queries), k)
    step = 16_384
    for q0 in range(0, len(queries), step):
        q1 = min(q0 + step, len(queries))
        block_scores, block_ids = index.search(queries[q0:q1], k_search)
        block_scores[block_ids < 0] = -np.inf
        scores[q0:q1, :k_search], ids[q0:q1, :k_search] = block_scores, block_ids
        task.advance(q1 - q0)
    return scores, ids


def matmul_rate(dim: int = 384, size: int = 4096, repeats: int = 3) -> float:
    """This machine's float32 matrix-product rate in FLOP/s, on blocks shaped like exact search's."""
    import time

    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, dim), dtype=np.float32)
    b = rng.standard_normal((_CANDIDATE_BLOCK, dim), dtype=np.float32)
    out = np.empty((size, _CANDIDATE_BLOCK), dtype=np.float32)
    np.matmul(a, b.T, out=out)
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(a, b.T, out=out)
        best = min(best, time.perf_counter() - start)
    return 2.0 * size * _CANDIDATE_BLOCK * dim / best

"""Each anchor's ranked candidates: the search over every anchor (and deeper for the few that need
it), and each candidate's cosine with the anchor's nearest positive (the near-duplicate rule's signal)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from cltool import memory
from cltool.mine.load import Candidates, Pairs
from cltool.mine.select import Positives
from cltool.mine.settings import Settings
from cltool.progress import Reporter


@dataclass
class Ranked:
    """The ranked candidates of some anchors: row i of candidate_rows / scores / near is anchor anchors[i]."""

    anchors: np.ndarray  # anchor indices
    candidate_rows: np.ndarray  # (rows, depth) indices into the candidates (not their string ids), best first, -1: none
    scores: np.ndarray  # (rows, depth) float32
    depth: int  # how deep the search went (a list is shorter only when the candidates ran out)
    near: np.ndarray | None = None  # (rows, depth) highest cosine with one of the anchor's positives


def latest_parts(parts: list[Ranked], anchors: int) -> tuple[np.ndarray, np.ndarray]:
    """For each anchor, the last part that ranked it (a deeper search replaces the first) and its row
    there; -1 for an anchor no part ranked."""
    latest = np.full(anchors, -1)
    row_of = np.full(anchors, -1)
    for number, part in enumerate(parts):
        latest[part.anchors] = number
        row_of[part.anchors] = np.arange(len(part.anchors))
    return latest, row_of


def search_anchors(pairs: Pairs, candidates: Candidates, range_maxes: np.ndarray, settings: Settings,
                   reporter: Reporter) -> tuple[list[Ranked], dict[str, Any]]:
    """Every anchor to the depth that 99% of anchors need; the few that need more (many positives)
    again, exactly and deeper, rather than making every anchor pay for the deepest one."""
    from cltool.engine import Engine
    from cltool.mine.search import exact_search_top, exact_top, plan_search, product_error, searched_depth

    anchors, total = len(pairs.anchor_keys), len(candidates)
    if not anchors:
        return [], {}
    vectors = candidates.vectors[:total]
    depth = int(np.quantile(range_maxes, 0.99, method="higher"))
    deep = np.nonzero(range_maxes > depth)[0]
    memory.require(ranked_bytes(anchors, min(depth, total)) + ranked_bytes(len(deep), int(range_maxes.max())),
                   f"ranking {min(depth, total):,} candidates for each of {anchors:,} anchors",
                   "give a smaller -n or --range-max (the window is what each anchor keeps while choosing)")
    plan = plan_search(settings.index, anchors, total, min(depth, total), settings.nprobe, settings.nlist,
                       dim=vectors.shape[1])
    index = recall = None
    if plan.index == "ivf":  # measured on a sample against exact search first, nprobe raised to the target
        from cltool.mine.recall import tune
        from cltool.mine.search import IvfIndex, choose_product

        exact_product = choose_product(anchors * total * vectors.shape[1], min(depth, total))
        index = IvfIndex.build(vectors, plan.nlist, settings.seed)
        plan, recall = tune(plan, index, pairs.queries, vectors, min(depth, total), settings.target_recall,
                            settings.seed, tunable=settings.nprobe is None, exact_product=exact_product,
                            reporter=reporter)
        if plan.index == "flat":
            index = None
            plan = replace(plan, product=exact_product)
    how = (("exact search" if plan.product == "float32" else "exact search (a bf16 shortlist, rescored exactly)")
           if plan.index == "flat" else plan.index if plan.index != "ivf" else
           f"an IVF index ({plan.nlist:,} lists trained and filled first, {plan.nprobe:,} searched per anchor)")
    reporter.info(f"mine: {anchors:,} anchors x {total:,} candidates, top {min(depth, total)} by {how}")
    # a few more than the depth, cut once the scores are exact: the result does not depend on how the
    # search was split (engine, partitions, threads)
    searched = searched_depth(depth, total, plan.product) if plan.index != "hnsw" else depth
    with reporter.task("mine search", total=anchors, unit="anchors") as task:
        scores, rows, reach = Engine.of(settings).search(pairs.queries, vectors, searched, plan, task, settings.seed,
                                                         index)
        scores, rows = exact_top(pairs.queries, vectors, scores, rows, depth, reach,
                                 product_error(plan.product, pairs.queries, vectors))
    if plan.index == "hnsw":  # its index is built inside its search: measured after it
        from cltool.mine.recall import measure

        recall = measure(rows, pairs.queries, vectors, min(depth, total), settings.target_recall, settings.seed,
                         {"ef_search": plan.ef_search}, reporter)
    parts = [Ranked(np.arange(anchors), rows, scores, depth)]
    info = {**plan.describe(), "depth": depth, **({"recall": recall.describe()} if recall is not None else {})}
    if len(deep):
        deeper = int(range_maxes[deep].max())
        scores, rows = exact_search_top(pairs.queries[deep], vectors, deeper)
        parts.append(Ranked(deep, rows, scores, deeper))
        info["deeper"] = {"anchors": len(deep), "depth": deeper, "index": "flat"}
    return parts, info


def ranked_bytes(anchors: int, depth: int) -> int:
    """Memory that ranking `depth` candidates per anchor holds while choosing: rows, scores, the cosine
    to a positive, the eligible ranks and the sampler's weights, with room for the search's copies."""
    return anchors * depth * 32


def near_positives(part: Ranked, candidates: Candidates, positives: Positives) -> None:
    """Each ranked candidate's highest cosine with one of its anchor's positives, into part.near."""
    from cltool.kernels.mine import positive_similarity

    # positives are candidates: their candidate rows index the candidates' vectors directly
    own = positives.of(part.anchors)
    part.near = positive_similarity(part.candidate_rows, own.offsets, own.candidate_rows, candidates.vectors, 0,
                                    part.candidate_rows.shape[1])

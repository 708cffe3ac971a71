"""An approximate search that knows its recall: before mining with an IVF or HNSW index, a sample
of anchors is searched exactly and by the index, and the share of each sampled anchor's exact top 10
that the index also finds is its recall@10.

IVF's nprobe is doubled until that recall reaches the target (`--target-recall`, default 0.95);
where exact search would be as fast as the index that reaches it (`cltool.mine.search.exact_is_faster`: an IVF search
costs about 4x a float32 exact search per candidate it scans, and a bf16 exact search about a third
of a float32 one), exact search runs instead. A given `--nprobe` (or HNSW) is measured, not tuned, and a recall
short of the target is said. The measurement goes into the summary (`search.recall`).

Why: on 50k anchors x 2M clustered synthetic candidates the IVF defaults (nlist 5,727, nprobe 239)
kept 0.786 of the exact top 10, and nothing said so.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from cltool.progress import NullReporter, Reporter

if TYPE_CHECKING:
    from cltool.mine.search import IvfIndex, SearchPlan

RECALL_AT = 10
SAMPLE_ANCHORS = 1000  # anchors searched exactly to measure the index against (fewer for a small run)


@dataclass
class Recall:
    """What the sample measured: recall@10 (and over the whole searched depth) at each setting tried."""

    at: int
    depth: int
    sampled: int
    target: float
    tried: list[dict[str, Any]] = field(default_factory=list)
    outcome: str = ""  # "met", "below target", "exact instead"

    @property
    def measured(self) -> float | None:
        """The recall of the search that ran: exact search's is 1."""
        if self.outcome == "exact instead":
            return 1.0
        return self.tried[-1]["recall"] if self.tried else None

    def describe(self) -> dict[str, Any]:
        return {"at": self.at, "measured": self.measured, "target": self.target, "sampled_anchors": self.sampled,
                "at_depth": 1.0 if self.outcome == "exact instead" else (
                    self.tried[-1]["recall_at_depth"] if self.tried else None), "depth": self.depth,
                "tried": self.tried, "outcome": self.outcome}


def sample_anchors(anchors: int, seed: int) -> np.ndarray:
    """The anchors the recall is measured on: up to SAMPLE_ANCHORS, at least 100 (or all), a tenth of
    a run's anchors at most, seeded, in order."""
    size = min(anchors, max(100, min(SAMPLE_ANCHORS, anchors // 10)))
    return np.sort(np.random.default_rng(seed).choice(anchors, size, replace=False))


def overlap(found: np.ndarray, exact: np.ndarray, at: int) -> float:
    """The mean share of each row's exact first `at` candidates (ids, -1: none) that `found`'s first
    `at` hold."""
    shares = []
    for ours, truth in zip(found[:, :at], exact[:, :at]):
        truth = truth[truth >= 0]
        if len(truth):
            shares.append(np.isin(truth, ours).mean())
    return float(np.mean(shares)) if shares else 1.0


def tune(plan: SearchPlan, index: IvfIndex, queries: np.ndarray, candidates: np.ndarray, depth: int,
         target: float, seed: int, tunable: bool, exact_product: str = "float32",
         reporter: Reporter | None = None) -> tuple[SearchPlan, Recall]:
    """The plan to search with (IVF's nprobe doubled until the sample's recall@10 reaches `target`, or
    exact search once it would be as fast: `exact_product` is the product it would take), and what
    was measured. `index`: the IVF index built for the run; `tunable`: False when the user gave
    --nprobe (measured, not changed)."""
    from cltool.mine.search import exact_is_faster, exact_top, searched_depth

    sample, recall, exact = _sampled(queries, candidates, depth, target, seed)
    sampled = queries[sample]
    searched = searched_depth(depth, len(candidates))
    while True:
        scores, rows = index.search(sampled, searched, plan.nprobe)
        _, rows = exact_top(sampled, candidates, scores, rows, depth, index.reach(plan.nprobe))
        recall.tried.append({"nprobe": plan.nprobe, "scanned_share": round(index.scanned_share(sampled, plan.nprobe), 4),
                             "recall": round(overlap(rows, exact, recall.at), 4),
                             "recall_at_depth": round(overlap(rows, exact, depth), 4)})
        met = recall.tried[-1]["recall"] >= target
        if not tunable:
            recall.outcome = "met" if met else "below target"
            break
        scanned = recall.tried[-1]["scanned_share"] if met else index.scanned_share(sampled, min(plan.nlist,
                                                                                                2 * plan.nprobe))
        if exact_is_faster(scanned, exact_product) or (not met and plan.nprobe >= plan.nlist):
            recall.outcome = "exact instead"
            plan = replace(plan, index="flat", nlist=None, nprobe=None)
            break
        if met:
            recall.outcome = "met"
            break
        plan = replace(plan, nprobe=min(plan.nlist, 2 * plan.nprobe))
    _say(recall, reporter)
    return plan, recall


def measure(rows: np.ndarray, queries: np.ndarray, candidates: np.ndarray, depth: int, target: float, seed: int,
            setting: dict[str, Any], reporter: Reporter | None = None) -> Recall:
    """The recall of a search already run (HNSW, whose index is built inside its search): its rows
    for the sampled anchors against their exact search."""
    sample, recall, exact = _sampled(queries, candidates, depth, target, seed)
    recall.tried.append({**setting, "recall": round(overlap(rows[sample], exact, recall.at), 4),
                         "recall_at_depth": round(overlap(rows[sample], exact, depth), 4)})
    recall.outcome = "met" if recall.measured >= target else "below target"
    _say(recall, reporter)
    return recall


def _sampled(queries: np.ndarray, candidates: np.ndarray, depth: int, target: float,
             seed: int) -> tuple[np.ndarray, Recall, np.ndarray]:
    """The sampled anchors, their empty Recall, and their exact ranking (candidate rows, `depth` deep)."""
    from cltool.mine.search import exact_search_top

    sample = sample_anchors(len(queries), seed)
    recall = Recall(at=min(RECALL_AT, depth, len(candidates)), depth=depth, sampled=len(sample), target=target)
    return sample, recall, exact_search_top(queries[sample], candidates, depth)[1]


def _say(recall: Recall, reporter: Reporter | None) -> None:
    reporter = reporter if reporter is not None else NullReporter()
    knob = "nprobe" if "nprobe" in recall.tried[0] else "ef_search"
    steps = ", ".join(f"{t[knob]}: {t['recall']:.3f}" for t in recall.tried)
    where = f"recall@{recall.at} on {recall.sampled:,} anchors also searched exactly ({knob} {steps})"
    if recall.outcome == "met":
        reporter.info(f"mine: {where}: at least the target {recall.target:g}")
    elif recall.outcome == "exact instead":
        reporter.info(f"mine: {where}: exact search is as fast as an index that would reach the target "
                      f"{recall.target:g}, so exact search runs instead")
    else:
        reporter.warn(f"mine: {where}: below the target {recall.target:g}"
                      + (" at the given --nprobe" if knob == "nprobe" else ""))

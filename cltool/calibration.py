"""Thresholds on the data's own scale: what a cosine means for this model on this dataset.

A cosine of 0.5 says "paraphrase" for one model and "unrelated" for another (static models and
e5-style models score unrelated texts high, and fine-tuning moves every score). So no threshold the
user did not set is an absolute cosine: it is read off the scores of RANDOM pairs of the data's own
texts under the model that embedded them, at mining (or filtering) time, and recorded with the
numbers it came from.

Each threshold is a `Tail`: the cosine that only a given share of random pairs reach. The
near-duplicate threshold: a candidate is a paraphrase of one of the anchor's positives, a false
negative, when it is more similar to that positive than all but `NEAR_DUPLICATE_TAIL` (1%) of random
(positive, candidate) pairs are. The deepening floor: a candidate scoring below the median of random
(anchor, candidate) pairs is no closer to the anchor than a random text is, so searching deeper for
it cannot beat a random fill. Measured on the outcome benchmark's dev sets (bench/outcome.py), the
99th percentile of random pairs removed most known false negatives under the bundled MiniLM, its
static distillation and a compressed-scale (e5-like) simulation alike, where one absolute cosine
removed every candidate under one model and few under another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cltool.options import AUTO  # the value of a threshold option that asks for this calibration  # noqa: F401
NEAR_DUPLICATE_TAIL = 0.01  # the share of random pairs as similar as a near-duplicate
FLOOR_TAIL = 0.5  # a random text: the median of random pairs
SAMPLE_PAIRS = 20_000
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 0.999)


def quantiles(values: np.ndarray) -> dict[str, float] | None:
    """Named quantiles of `values` (each one of the values: no interpolation, so exact and repeatable)."""
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    found = np.quantile(values, QUANTILES, method="higher")
    return {f"p{100 * q:g}": round(float(v), 4) for q, v in zip(QUANTILES, found)}


def random_pair_cosines(left: np.ndarray, right: np.ndarray, seed: int, pairs: int = SAMPLE_PAIRS,
                        left_rows: np.ndarray | None = None) -> np.ndarray:
    """Cosines of `pairs` random (left row, right row) pairs of unit vectors, in float64 (the same
    numbers whatever the thread count), drawn with `seed`. `left_rows` restricts the left side to
    those rows (e.g. the candidates that are positives). A pair of the same row of one matrix is
    skipped when left and right are the same array."""
    rng = np.random.default_rng([seed, 0x5CA1E])
    pool = np.arange(len(left)) if left_rows is None else np.asarray(left_rows)
    if not len(pool) or not len(right):
        return np.empty(0)
    i = pool[rng.integers(0, len(pool), pairs)]
    j = rng.integers(0, len(right), pairs)
    if left is right:
        keep = i != j
        i, j = i[keep], j[keep]
    return np.einsum("ij,ij->i", left[i].astype(np.float64), right[j].astype(np.float64))


@dataclass(frozen=True)
class Tail:
    """A threshold read off random pairs (the cosine that only `share` of them reach), and what it
    was read from."""

    threshold: float
    share: float
    background: dict[str, float] | None
    pairs: int

    @classmethod
    def from_background(cls, cosines: np.ndarray, share: float) -> Tail:
        values = cosines[np.isfinite(cosines)]
        if not len(values):  # nothing to compare with: no threshold
            return cls(float("inf"), share, None, 0)
        threshold = float(np.quantile(values, 1.0 - share, method="higher"))
        return cls(threshold, share, quantiles(values), len(values))

    @property
    def value(self) -> float | None:
        """The threshold, or None (off) when there was nothing to read it from."""
        return self.threshold if np.isfinite(self.threshold) else None

    @classmethod
    def from_description(cls, described: dict[str, Any]) -> Tail:
        threshold = described.get("threshold")
        return cls(float("inf") if threshold is None else float(threshold), float(described["share"]),
                   described.get("random_pair_cosine"), int(described.get("random_pairs", 0)))

    def describe(self) -> dict[str, Any]:
        return {"threshold": self.value, "share": self.share,
                "rule": f"the cosine that {self.share:.0%} of random pairs reach",
                "random_pairs": self.pairs, "random_pair_cosine": self.background}


WHAT = {"near_duplicate": "near-duplicate threshold (cosine with a positive)",
        "deepening_floor": "deepening floor (cosine with the anchor)",
        "paraphrase": "paraphrase judge's threshold (cosine with a positive)"}


def describe_lines(calibration: dict[str, Any]) -> list[str]:
    """One line per threshold of a manifest's calibration, for people (inspect, report)."""
    lines = []
    for name, tail in calibration.items():
        if not isinstance(tail, dict) or "share" not in tail:
            continue
        background = tail.get("random_pair_cosine") or {}
        value = "none (no pairs to read it from)" if tail.get("threshold") is None else f"{tail['threshold']:.4f}"
        state = {True: ", applied", False: ", not applied (a value was given)"}.get(tail.get("applied"), "")
        lines.append(f"{WHAT.get(name, name)}: {value}, the cosine that {tail['share']:.0%} of "
                     f"{tail.get('random_pairs', 0):,} random pairs reach (their median {background.get('p50', '-')}, "
                     f"p99 {background.get('p99', '-')}){state}")
    return lines


def manifest_calibration(manifest: dict[str, Any]) -> dict[str, Any]:
    """The thresholds a step read off its data, from its manifest: mine's, and filter's paraphrase judge's."""
    found = dict((manifest.get("summary") or {}).get("calibration") or {})
    judge = ((manifest.get("params") or {}).get("judge_models") or {}).get("paraphrase") or {}
    if judge.get("calibration"):
        found["paraphrase"] = judge["calibration"]
    return found

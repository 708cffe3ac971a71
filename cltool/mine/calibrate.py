"""Mine's thresholds on the data's own scale (cltool.calibration), read once at search time from
random pairs of this input's texts, recorded in the manifest and kept with saved candidates (so a
choice made again from them uses the same numbers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cltool.calibration import FLOOR_TAIL, NEAR_DUPLICATE_TAIL, Tail, random_pair_cosines
from cltool.mine.load import Candidates, Pairs


@dataclass(frozen=True)
class Calibration:
    """near_duplicate: the 1% tail of random (positive, candidate) pairs, --near-duplicate auto;
    deepening_floor: the median of random (anchor, candidate) pairs, below which a deeper search
    finds nothing closer to the anchor than a random fill."""

    near_duplicate: Tail
    deepening_floor: Tail

    def describe(self, near_duplicate_applied: bool) -> dict[str, Any]:
        return {"near_duplicate": {**self.near_duplicate.describe(), "applied": near_duplicate_applied},
                "deepening_floor": self.deepening_floor.describe()}

    @classmethod
    def from_description(cls, described: dict[str, Any]) -> Calibration | None:
        if not all(described.get(k) for k in ("near_duplicate", "deepening_floor")):
            return None
        return cls(Tail.from_description(described["near_duplicate"]), Tail.from_description(described["deepening_floor"]))


def calibrate(pairs: Pairs, candidates: Candidates, seed: int) -> Calibration:
    vectors = candidates.vectors[:len(candidates)]
    positives = np.arange(candidates.from_positives)  # the unique positives come first among the candidates
    return Calibration(
        Tail.from_background(random_pair_cosines(vectors, vectors, seed, left_rows=positives), NEAR_DUPLICATE_TAIL),
        Tail.from_background(random_pair_cosines(pairs.queries, vectors, seed + 1), FLOOR_TAIL))

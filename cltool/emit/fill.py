"""`--short fill`: top up anchors short of negatives with other anchors' texts, as in-batch
negatives would be."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cltool.dataset.pairs import match_keys
from cltool.dataset.read import Dataset
from cltool.emit.read import Rows, mined_num_negatives
from cltool.errors import InputError


def fill(rows: Rows, short_rows: np.ndarray, n: int, seed: int) -> tuple[dict[int, list[str]], int]:
    """Extra negatives per short anchor (by anchor key), and how many in all: other anchors' positives
    (and negatives), never one of this anchor's positives, the anchor, or a text it already has (all by
    match key). Drawn from a stream seeded by the anchor, so the result does not depend on the other
    rows' order."""
    pool: dict[int, str] = {}
    for texts in (rows.positives, [t for row in rows.negatives for t in row]):
        for key, text in zip(match_keys(texts), texts):
            pool.setdefault(key, text)
    pool_keys = np.fromiter(pool.keys(), dtype=np.uint64, count=len(pool))
    pool_texts = list(pool.values())
    own: dict[int, set[int]] = {}
    for r in range(len(rows.anchors)):
        own.setdefault(int(rows.anchor_keys[r]), {int(rows.anchor_keys[r])}).add(int(rows.positive_keys[r]))
    fills: dict[int, list[str]] = {}
    for r in short_rows.tolist():
        anchor = int(rows.anchor_keys[r])
        if anchor in fills:
            continue
        taken = own[anchor] | set(match_keys(rows.negatives[r]))
        need = n - len(rows.negatives[r])
        rng = np.random.default_rng([seed, anchor])
        chosen: list[str] = []
        # random draws, rejecting what is taken: cheap while the pool is much larger than what an
        # anchor excludes; a few rounds, then a walk over the whole pool in a random order
        for attempt in range(4):
            draws = rng.integers(0, len(pool_keys), size=4 * need + 16) if attempt < 3 else rng.permutation(
                len(pool_keys))
            for i in draws.tolist():
                key = int(pool_keys[i])
                if key not in taken:
                    chosen.append(pool_texts[i])
                    taken.add(key)
                    if len(chosen) == need:
                        break
            if len(chosen) == need:
                break
        fills[anchor] = chosen
    return fills, sum(len(v) for v in fills.values())


def short_cause(dataset: Dataset, rows: Rows, n: int) -> dict[str, Any]:
    """Why anchors were short of `n` negatives, for the hint: the input carries fewer than `n` (mine was
    run with fewer: `mined_with`, from the manifest's lineage), or mine's rules (or filter's judges)
    left some anchors short, with mine's removals per rule where its manifest is found."""
    mined = mined_num_negatives(dataset)
    cause: dict[str, Any] = {"most_in_input": max((len(x) for x in rows.negatives), default=0)}
    if mined is not None:
        cause["mined_with"] = mined
    if (mined if mined is not None else cause["most_in_input"]) < n:
        cause["cause"] = "mined_fewer"
        return cause
    manifest = dataset.manifest or {}
    cause["cause"] = "filtered" if manifest.get("command") == "filter" else "mine_rules"
    mine_manifest = _mine_manifest(manifest)
    if mine_manifest is not None:
        cause["removed_by_rule"] = (mine_manifest.get("summary") or {}).get("removed_by_rule", {})
    return cause


def _mine_manifest(manifest: dict[str, Any], depth: int = 6) -> dict[str, Any] | None:
    """The manifest of the mine step that made this data: this one, or one found by following each
    step's first input (None where the chain has moved)."""
    from cltool.dataset.manifest import read_manifest

    for _ in range(depth):
        if manifest.get("command") == "mine":
            return manifest
        inputs = manifest.get("inputs") or []
        source = inputs[0].get("source") if inputs else None
        if not source or not Path(source).is_dir():
            return None
        try:
            manifest = read_manifest(source) or {}
        except InputError:
            return None
    return None

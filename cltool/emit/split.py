"""Grouped splits: rows sharing an anchor or a positive text (by match key, transitively) form one
group, and a group goes to one split whole, so no text straddles two splits."""

from __future__ import annotations

import numpy as np

from cltool.emit.read import Rows
from cltool.emit.settings import TRAIN


def _keys(rows: Rows, r: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """Row r's texts as keys: its anchor and its positive, apart (an anchor and a positive may share a text)."""
    return (0, int(rows.anchor_keys[r])), (1, int(rows.positive_keys[r]))


def groups(rows: Rows) -> np.ndarray:
    """Per row, a group label: rows sharing an anchor or a positive (by match key), transitively (union-find)."""
    parent = list(range(len(rows.anchors)))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first: dict[tuple[int, int], int] = {}
    for r in range(len(rows.anchors)):
        for key in _keys(rows, r):
            seen = first.setdefault(key, r)
            if seen != r:
                a, b = root(seen), root(r)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    return np.array([root(r) for r in range(len(rows.anchors))], dtype=np.int64)


def assign_splits(groups: np.ndarray, shares: dict[str, float], seed: int) -> np.ndarray:
    """Per row, its split index (0 = train, then the --split names in order): whole groups, visited in a
    seeded order, each to the split furthest below its share so far."""
    names = [TRAIN, *shares]
    targets = np.array([1.0 - sum(shares.values()), *shares.values()]) * len(groups)
    labels, sizes = np.unique(groups, return_counts=True)
    order = np.random.default_rng(seed).permutation(len(labels))
    filled = np.zeros(len(names))
    split_of_group = np.empty(len(labels), dtype=np.int64)
    for g in order:
        choice = int(np.argmax(targets - filled))
        split_of_group[g] = choice
        filled[choice] += sizes[g]
    return split_of_group[np.searchsorted(labels, groups)]


def leaks(rows: Rows, split_of: np.ndarray, usable: np.ndarray) -> int:
    """Anchor or positive texts (by match key) found in more than one split: 0 by construction, checked."""
    seen: dict[tuple[int, int], int] = {}
    leaked = set()
    for r in np.nonzero(usable)[0].tolist():
        for key in _keys(rows, r):
            if seen.setdefault(key, int(split_of[r])) != split_of[r]:
                leaked.add(key)
    return len(leaked)

"""mine's positive_rank: how many candidates that are none of the anchor's positives outscore the row's
positive, against brute force over every candidate; null exactly where the search did not reach it."""

from __future__ import annotations

import numpy as np
import pytest

from cltool.mine import Settings, mine
from tests.conftest import read_dataset


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_positive_rank_equals_brute_force(tmp_path, seed, write, random_pairs):
    pairs, docs = random_pairs(seed, anchors=30, repeats=8, corpus=40)
    source, corpus = write(tmp_path / "pairs", pairs), write(tmp_path / "docs", docs)
    manifest = mine(source, str(tmp_path / "mined"), Settings(num_negatives=2, max_window=0), corpus=[corpus])
    rows = read_dataset(tmp_path / "mined").to_pylist()
    texts = list(dict.fromkeys(pairs["positive"])) + docs["id"]
    vectors = {t: v for t, v in zip(pairs["positive"], pairs["positive_embedding"])}
    vectors.update(zip(docs["id"], docs["text_embedding"]))
    positives_of: dict[str, set[str]] = {}
    for anchor, positive in zip(pairs["anchor"], pairs["positive"]):
        positives_of.setdefault(anchor, set()).add(positive)
    anchor_vector = dict(zip(pairs["anchor"], pairs["anchor_embedding"]))
    depth = manifest["summary"]["search"]["depth"]
    nulls = 0
    for row in rows:
        q = np.asarray(anchor_vector[row["anchor"]], dtype=np.float64)
        own = float(q @ np.asarray(vectors[row["positive"]], dtype=np.float64))
        above = sum(1 for t in texts if t not in positives_of[row["anchor"]]
                    and float(q @ np.asarray(vectors[t], dtype=np.float64)) > own + 1e-6)
        if row["positive_rank"] is None:
            nulls += 1
            assert above + len(positives_of[row["anchor"]]) >= depth - 2  # beyond what was searched
        else:
            assert row["positive_rank"] == above, row["anchor"]
    assert nulls < len(rows)

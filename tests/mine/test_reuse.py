"""Hub control (--max-reuse): no candidate a negative of more than N anchors, the earlier anchors
keeping theirs, a replacement always one the rules allowed; the kernel against a plain reference."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from cltool.kernels.mine import cap_reuse as cap_kernel
from cltool.mine import Settings, mine
from tests.conftest import read_dataset


def reference(chosen, options, cap, candidates):
    """The rule in plain Python: anchors in order; a slot past the cap takes the anchor's first option
    it has not chosen whose uses, counting the later anchors that chose it, are under the cap, else
    keeps the hub."""
    chosen = [list(row) for row in chosen]
    pending = Counter(c for row in chosen for c in row if c >= 0)
    uses = Counter()
    for a, row in enumerate(chosen):
        for s, c in enumerate(row):
            if c < 0:
                continue
            pending[c] -= 1
            if uses[c] < cap:
                uses[c] += 1
                continue
            pick = next((e for e in options[a] if uses[e] + pending[e] < cap and e not in row), None)
            if pick is None:
                uses[c] += 1
            else:
                row[s] = pick
                uses[pick] += 1
    return chosen


@pytest.mark.parametrize("seed", range(6))
def test_the_kernel_follows_the_rule(seed):
    rng = np.random.default_rng(seed)
    anchors, n, candidates, cap = 50, 3, 12, int(rng.integers(1, 5))
    chosen = np.full((anchors, n), -1, dtype=np.int32)
    options = []
    for a in range(anchors):
        pool = rng.permutation(candidates)[:int(rng.integers(n, candidates))]
        k = int(rng.integers(0, n + 1))
        chosen[a, :k] = pool[:k]
        options.append([int(x) for x in pool])
    offsets = np.concatenate([[0], np.cumsum([len(o) for o in options])]).astype(np.int64)
    flat = np.array([x for o in options for x in o], dtype=np.int32)
    ids, scores, ranks = chosen.copy(), np.zeros((anchors, n), dtype=np.float32), np.zeros((anchors, n), np.int32)
    cap_kernel(ids, scores, ranks, offsets, flat, np.ones(len(flat), np.float32), np.arange(len(flat), dtype=np.int32),
               candidates, cap)
    assert ids.tolist() == reference(chosen.tolist(), options, cap, candidates)


def test_mine_caps_reuse_with_eligible_replacements_and_says_so(tmp_path, write, random_pairs):
    pairs, docs = random_pairs(3, anchors=60, corpus=30)
    source, corpus = write(tmp_path / "pairs", pairs), write(tmp_path / "docs", docs)
    common = dict(num_negatives=3, relative_margin=None, range_max=40)
    free = mine(source, str(tmp_path / "free"), Settings(**common), corpus=[corpus])
    capped = mine(source, str(tmp_path / "capped"), Settings(**common, max_reuse=4), corpus=[corpus])
    reuse = capped["summary"]["reuse"]
    assert reuse["before"]["most_used"] > 4 and reuse["replaced"] > 0
    rows = read_dataset(tmp_path / "capped").to_pylist()
    per_anchor = {r["anchor"]: r["negative_ids"] for r in rows}  # an anchor's rows share its negatives
    uses = Counter(n for negatives in per_anchor.values() for n in negatives)
    # over the cap only where an anchor had no other eligible candidate left
    assert sum(max(0, u - 4) for u in uses.values()) <= reuse["kept_over_cap"]
    assert reuse["after"]["most_used"] < reuse["before"]["most_used"]
    for r in rows:  # still in rank order, never a positive, never repeated
        assert r["negative_ranks"] == sorted(r["negative_ranks"])
        assert r["positive"] not in r["negatives"] and len(set(r["negative_ids"])) == len(r["negative_ids"])
    assert "reuse" not in free["summary"]
    again = mine(source, str(tmp_path / "again"), Settings(**common, max_reuse=4), corpus=[corpus])
    assert read_dataset(tmp_path / "again").equals(read_dataset(tmp_path / "capped"))
    assert again["summary"]["reuse"] == reuse


def test_the_cli_and_the_report_show_reuse_before_and_after(tmp_path, write, random_pairs):
    from tests.conftest import run_cltool

    pairs, docs = random_pairs(3, anchors=60, corpus=30)
    source, corpus = write(tmp_path / "pairs", pairs), write(tmp_path / "docs", docs)
    done = run_cltool("mine", source, "--corpus", corpus, "--range-max", "40", "--max-reuse", "4",
                      "-o", str(tmp_path / "mined"))
    assert done.returncode == 0, done.stderr.decode()
    err = done.stderr.decode()
    assert "--max-reuse 4: the most used negative was chosen for" in err and "replaced" in err
    page = run_cltool("report", str(tmp_path / "mined"), "-o", str(tmp_path / "report.html"))
    assert page.returncode == 0, page.stderr.decode()
    assert "mine --max-reuse 4: the most used negative was chosen for" in (tmp_path / "report.html").read_text()
    refused = run_cltool("mine", source, "--max-reuse", "0", "-o", str(tmp_path / "never"))
    assert refused.returncode == 2 and "--max-reuse must be 1 or more" in refused.stderr.decode()

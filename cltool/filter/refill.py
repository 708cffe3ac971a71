"""Refill: an anchor left with fewer than --min-negatives takes the next candidates from a
`mine --save-candidates` directory that pass mine's own rules (with the settings recorded in the
candidates' manifest, through `cltool.mine.select.eligible`) and then the same judges."""

from __future__ import annotations

import numpy as np

from cltool.filter.verdicts import Judged, judge_pairs
from cltool.filter.judges import Judge
from cltool.filter.load import Loaded
from cltool.filter.settings import Settings
from cltool.mine.candidates import open_saved, read_lists, read_texts, recorded_rules
from cltool.mine.select import Positives, eligible


def refill(loaded: Loaded, judges: list[Judge], judged: Judged, needed: int,
           settings: Settings) -> tuple[dict[int, list[int]], dict[str, int]]:
    """Top up anchors short of --min-negatives from the saved candidates: those mine's own rules
    allow (further down the ranking), in rank order, that the judges pass. Returns the pairs added
    per anchor, and what happened."""
    false = judged.false(needed)
    short = [a for a in range(len(loaded.anchor_keys)) if len(loaded.kept_pairs(false, a)) < settings.min_negatives]
    summary = {"anchors_short": len(short), "anchors_refilled": 0, "negatives_added": 0, "proposals_judged": 0}
    if not short:
        return {}, summary
    queue = _proposals(loaded, short, settings.candidates)
    refills: dict[int, list[int]] = {}
    while True:  # rounds: each short anchor proposes as many as it lacks, all judged together
        batch_anchor, batch_text, batch_score = [], [], []
        for a in queue:
            lack = settings.min_negatives - len(loaded.kept_pairs(false, a)) - len(refills.get(a, ()))
            while lack > 0 and queue[a]:
                t, s = queue[a].pop(0)
                batch_anchor.append(a)
                batch_text.append(t)
                batch_score.append(s)
                lack -= 1
        if not batch_anchor:
            break
        pair_anchor, pair_text = np.array(batch_anchor, dtype=np.int64), np.array(batch_text, dtype=np.int64)
        first = len(loaded.pair_anchor)
        for offset, (a, t) in enumerate(zip(batch_anchor, batch_text)):
            loaded.pair_index[(a, t)] = first + offset
        loaded.pair_anchor = np.concatenate([loaded.pair_anchor, pair_anchor])
        loaded.pair_text = np.concatenate([loaded.pair_text, pair_text])
        loaded.pair_score = np.concatenate([loaded.pair_score, np.array(batch_score, dtype=np.float32)])
        judged.extend(judge_pairs(judges, loaded.work, pair_anchor, pair_text))
        false = judged.false(needed)
        summary["proposals_judged"] += len(batch_anchor)
        for offset, a in enumerate(batch_anchor):
            if not false[first + offset]:
                refills.setdefault(a, []).append(first + offset)
    summary["anchors_refilled"] = len(refills)
    summary["negatives_added"] = sum(len(v) for v in refills.values())
    return refills, summary


def _proposals(loaded: Loaded, short: list[int], source: str) -> dict[int, list[tuple[int, float]]]:
    """Per short anchor with saved candidates: the eligible ones in rank order that are not already
    one of its pairs, as (text, the miner's score)."""
    saved = open_saved(source)
    range_min, rules = recorded_rules(saved)
    texts = read_texts(source)
    text_index = texts.index()
    lists = read_lists(saved, {loaded.anchor_keys[a]: a for a in short})
    anchors = [a for a in short if a in lists]
    if not anchors:
        return {}
    width = max(len(lists[a][0]) for a in anchors)
    ids = np.full((len(anchors), width), -1, dtype=np.int32)
    scores = np.full((len(anchors), width), -np.inf, dtype=np.float32)
    near = np.full((len(anchors), width), np.nan, dtype=np.float32)
    for row, a in enumerate(anchors):
        cids, cscores, cnear = lists[a]
        ids[row, :len(cids)] = [text_index.get(c, -1) for c in cids]
        scores[row, :len(cids)] = cscores
        near[row, :len(cids)] = [np.nan if v is None else v for v in cnear]
    positives = [loaded.work.positives_of(a) for a in anchors]
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in positives])]).astype(np.int64)
    flat = np.concatenate(positives) if positives else np.empty(0, dtype=np.int64)
    own = Positives(offsets, np.array([text_index.get(loaded.work.text_ids[t], -1) for t in flat], dtype=np.int64),
                    np.array([loaded.texts.keys[t] for t in flat], dtype=np.uint64))
    allowed = eligible(ids, scores, near=near, candidate_keys=texts.keys, positives=own,
                       anchor_keys=np.array([loaded.anchor_keys[a] for a in anchors], dtype=np.uint64),
                       lowest=loaded.anchor_lowest_score[anchors].astype(np.float32), rules=rules,
                       range_min=range_min, range_maxes=np.full(len(anchors), width, dtype=np.int64))
    queue: dict[int, list[tuple[int, float]]] = {}
    for row, a in enumerate(anchors):
        seen = {loaded.pair_text[p] for p in loaded.anchor_negatives[a]}
        proposals = []
        for r in allowed.ranks[row]:
            if r < 0:
                break
            c = int(ids[row, r])
            t = loaded.texts.add(texts.ids[c], texts.texts[c], int(texts.keys[c]))  # a text the input did not have
            if t not in seen:
                seen.add(t)
                proposals.append((t, float(scores[row, r])))
        queue[a] = proposals
    return queue

"""The saved-candidates format: what `cltool mine --save-candidates DIR` writes, and what
`mine --from-candidates DIR` and `filter --candidates DIR` read.

DIR is a dataset with one row per anchor:

    anchor, anchor_id, ANCHOR_KEY (its match key), DEPTH (how deep it was searched),
    CANDIDATE_IDS, CANDIDATE_SCORES, CANDIDATE_NEAR (its ranked candidates, best first: ids,
    scores, and each one's highest cosine with one of the anchor's positives)

DIR.corpus (beside DIR: CANDIDATE_TEXTS) holds every candidate's id, text and MATCH_KEY. The manifest's params record
the settings the candidates were mined with (the window and the rules: `recorded_rules`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cltool.dataset.columns import ANCHOR, ANCHOR_ID, CORPUS_ID, CORPUS_TEXT
from cltool.dataset.manifest import part_path, read_manifest
from cltool.dataset.pairs import embedding_info, require_comparable
from cltool.dataset.read import Dataset, open_dataset
from cltool.dataset.write import Output
from cltool.errors import InputError, UsageError
from cltool.mine.calibrate import Calibration
from cltool.mine.load import LOAD_ROWS, Candidates, Pairs
from cltool.mine.ranked import Ranked
from cltool.mine.settings import Rules, Settings

COMMAND = "mine --save-candidates"  # the command in a saved-candidates manifest
CANDIDATE_TEXTS = "_corpus"  # a part of a --save-candidates directory (DIR.corpus beside it): id, text and match key of every candidate
ANCHOR_KEY, MATCH_KEY, DEPTH = "anchor_key", "match_key", "depth"
CANDIDATE_IDS, CANDIDATE_SCORES, CANDIDATE_NEAR = "candidate_ids", "candidate_scores", "candidate_positive_similarity"


def open_saved(source: str) -> Dataset:
    """A saved-candidates directory, or an InputError when something else wrote it."""
    saved = open_dataset(source)
    if (saved.manifest or {}).get("command") != COMMAND:
        raise InputError(f"{source} was not written by cltool {COMMAND}",
                         hint=f"give the directory that {COMMAND} wrote")
    return saved


@dataclass
class SavedTexts:
    """Every saved candidate: id, text and match key, in the order the candidate lists index."""

    ids: list[str]
    texts: list[str]
    keys: np.ndarray  # uint64

    def index(self) -> dict[str, int]:
        return {cid: i for i, cid in enumerate(self.ids)}


def read_texts(source: str) -> SavedTexts:
    texts = open_dataset(part_path(source, read_manifest(source), CANDIDATE_TEXTS))
    table = pa.Table.from_batches(list(texts.batches()), schema=texts.schema)
    return SavedTexts(table.column(CORPUS_ID).to_pylist(), table.column(CORPUS_TEXT).to_pylist(),
                      table.column(MATCH_KEY).to_numpy().astype(np.uint64))


def recorded_rules(saved: Dataset) -> tuple[int, Rules]:
    """The start of the rank window and the rules the candidates were mined with (mine's defaults
    where the manifest does not say)."""
    params = (saved.manifest or {}).get("params", {})
    mined = Settings(**{key: params[key] for key in ("range_min", *(f.name for f in fields(Rules))) if key in params})
    return mined.range_min, mined.rules


def saved_calibration(source: str) -> Calibration | None:
    """The thresholds the search that saved these candidates read off its data (None: not recorded)."""
    described = (open_saved(source).manifest or {}).get("summary", {}).get("calibration")
    return Calibration.from_description(described) if described else None


def require_scored_alike(saved: Dataset, anchors: dict[str, Any] | None, source: str) -> None:
    """The saved scores were measured from anchor vectors made as this input's (`anchors`: what made
    its anchor_embedding): one column at two times, so everything that made them must match,
    normalisation and prompt too: a search is reused only for the vectors it was made from."""
    recorded = (saved.manifest or {}).get("params", {}).get("embedding")
    require_comparable(recorded, anchors, same_column=True,
                       where=f"the anchors the candidates in {saved.source} were scored with and those of {source}",
                       hint=f"search again: cltool mine {source} --save-candidates DIR")


def read_lists(saved: Dataset, anchor_keys: dict[int, Any]) -> dict[Any, tuple[list, list, list]]:
    """The saved lists (candidate ids, scores, cosines to the nearest positive) of the anchors whose
    match keys are given, under the value each key maps to."""
    lists: dict[Any, tuple[list, list, list]] = {}
    for batch in saved.batches([ANCHOR_KEY, CANDIDATE_IDS, CANDIDATE_SCORES, CANDIDATE_NEAR]):
        keys = batch.column(0).to_numpy()
        hit = [i for i, k in enumerate(keys.tolist()) if k in anchor_keys]
        if hit:
            taken = batch.take(pa.array(hit))
            for k, ids, scores, near in zip(keys[hit].tolist(), *(taken.column(c).to_pylist() for c in range(1, 4))):
                lists[anchor_keys[k]] = (ids, scores, near)
    return lists


def write_candidates(target: str, pairs: Pairs, candidates: Candidates, parts: list[Ranked], params: dict[str, Any],
                    dataset: Dataset, corpora: Sequence[Dataset], calibration: dict[str, Any]) -> None:
    """One row per anchor with its ranked candidates (ids, scores, cosine to its nearest positive)
    and the depth searched, and DIR.corpus (CANDIDATE_TEXTS) with every candidate's id and text: enough to
    choose again without searching."""
    ids = pa.array(candidates.ids, pa.string())
    latest = np.full(len(pairs.anchor_keys), -1)
    for number, part in enumerate(parts):
        latest[part.anchors] = number  # a deeper search replaces the first
    with Output(target, command=COMMAND, params=params, inputs=[dataset, *corpora], keeps_rejected=False) as out:
        for number, part in enumerate(parts):
            for start in range(0, len(part.anchors), LOAD_ROWS):
                rows = np.arange(start, min(start + LOAD_ROWS, len(part.anchors)))
                rows = rows[latest[part.anchors[rows]] == number]
                a = part.anchors[rows]
                found = part.candidate_rows[rows]
                valid = found >= 0
                offsets = pa.array(np.concatenate([[0], np.cumsum(valid.sum(axis=1))]).astype(np.int32))
                out.write(pa.table({
                    ANCHOR: pa.array([pairs.anchor_texts[i] for i in a], pa.string()),
                    ANCHOR_ID: pa.array([pairs.anchor_ids[i] for i in a], pa.string()),
                    ANCHOR_KEY: pa.array(pairs.anchor_keys[a], pa.uint64()),
                    DEPTH: pa.array(np.full(len(a), part.depth), pa.int32()),
                    CANDIDATE_IDS: pa.ListArray.from_arrays(offsets, ids.take(pa.array(found[valid]))),
                    CANDIDATE_SCORES: pa.ListArray.from_arrays(offsets, pa.array(part.scores[rows][valid],
                                                                                 pa.float32())),
                    CANDIDATE_NEAR: pa.ListArray.from_arrays(offsets, pa.array(part.near[rows][valid],
                                                                               pa.float32())),
                }))
        out.side_dataset(CANDIDATE_TEXTS).write(pa.table({
            CORPUS_ID: ids, CORPUS_TEXT: pa.array(candidates.texts, pa.large_string()),
            MATCH_KEY: pa.array(np.asarray(candidates.keys, dtype=np.uint64), pa.uint64())}))
        out.summary.update({"anchors": len(pairs.anchor_keys), "candidates": len(candidates),
                            "calibration": calibration})


def load_candidates(source: str, pairs: Pairs, current: Candidates,
                    range_maxes: np.ndarray) -> tuple[Candidates, list[Ranked]]:
    """The saved search, lined up with this input's anchors; the input's positives re-indexed into
    the saved candidates (a positive that is not among them cannot come back, and is matched by text)."""
    saved = open_saved(source)
    manifest = saved.manifest
    require_scored_alike(saved, embedding_info(pairs.fields[0]), pairs.dataset.source)
    texts = read_texts(source)
    candidates = Candidates(texts.ids, texts.texts, texts.keys.tolist(), texts.index())
    candidates.from_positives = int(manifest.get("summary", {}).get("candidates", len(candidates)))

    rows = pa.Table.from_batches(list(saved.batches()), schema=saved.schema)
    where = {key: i for i, key in enumerate(rows.column(ANCHOR_KEY).to_numpy())}
    missing = [t for t, key in zip(pairs.anchor_texts, pairs.anchor_keys.tolist()) if key not in where]
    if missing:
        raise InputError(f"{len(missing):,} anchors of this input have no saved candidates in {source}, e.g. "
                         f"{missing[0][:80]!r}", hint="--from-candidates needs the input the candidates were mined "
                                                      "for; search again for a different input")
    rows = rows.take(pa.array([where[key] for key in pairs.anchor_keys.tolist()], pa.int64()))
    depth = rows.column(DEPTH).to_numpy()
    too_deep = (range_maxes > depth) & (depth < len(candidates))
    if too_deep.any():
        worst = int(np.argmax(np.where(too_deep, range_maxes - depth, -1)))
        raise UsageError(f"the window reaches rank {int(range_maxes[worst])} but only {int(depth[worst])} candidates "
                         f"were saved for anchor {pairs.anchor_texts[worst][:60]!r} in {source}",
                         hint="use a smaller --range-max, or search again with a larger one")
    value_set = pa.array(candidates.ids, pa.string())
    parts = []
    for level in np.unique(depth):  # one part per depth searched: no anchor padded to the deepest
        a = np.nonzero(depth == level)[0]
        part_rows = rows.take(pa.array(a))
        lists = part_rows.column(CANDIDATE_IDS).combine_chunks()
        width = int(level)
        mask = np.arange(width)[None, :] < pc.list_value_length(lists).to_numpy(zero_copy_only=False)[:, None]
        part = Ranked(a, np.full((len(a), width), -1, dtype=np.int32),
                      np.full((len(a), width), -np.inf, dtype=np.float32), width,
                      np.full((len(a), width), np.nan, dtype=np.float32))
        indices = pc.index_in(lists.flatten(), value_set=value_set).fill_null(-1)
        part.candidate_rows[mask] = indices.to_numpy(zero_copy_only=False)
        for target, column in ((part.scores, CANDIDATE_SCORES), (part.near, CANDIDATE_NEAR)):
            target[mask] = part_rows.column(column).combine_chunks().flatten().to_numpy(zero_copy_only=False)
        parts.append(part)
    # the positives of this input, as indices into the saved candidates
    saved_rows = np.array([candidates.index.get(cid, -1) for cid in current.ids], dtype=np.int64)
    pairs.row_positive = np.where(pairs.row_positive >= 0, saved_rows[np.maximum(pairs.row_positive, 0)], -1)
    return candidates, parts

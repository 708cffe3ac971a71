"""`cltool filter`: remove false negatives from mined pairs by independent judges.

1. Load (first pass over the input): rows are grouped into anchors by the anchor's match key, as
   `mine` does; every distinct (anchor, negative id) is one pair to judge, and every positive of
   the anchor (all its rows') is what the negative is compared with.
2. Judge: each `--judge` flags pairs (`cltool.filter.judges`); a negative is false when at least
   `--vote` judges flag it (any = 1, all = every judge).
3. Refill: an anchor left with fewer than `--min-negatives` takes the next candidates from a
   `mine --save-candidates` directory that pass mine's own rules (the `select_negatives` kernel,
   with the parameters recorded in the candidates' manifest) and then the same judges.
4. Write (second pass): every row keeps its anchor's surviving negatives, in their order, then the
   refills, and each scoring judge's score of them (`negative_paraphrase_scores`, ...,
   `negative_ce_scores` with `positive_ce_score`), so a trainer can re-weight without re-judging. Rows of an
   anchor still short go to `_rejected` (too_few_negatives); every removed negative goes to
   `_rejected/_negatives`, one row per (anchor, negative), with the judges that flagged it and
   their scores.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cltool.dataset.pairs import (
    ANCHOR,
    ANCHOR_ID,
    EMPTY_TEXT,
    JUDGE_SCORE_COLUMNS,
    NEGATIVE_IDS,
    NEGATIVE_RANKS,
    NEGATIVE_SCORES,
    NEGATIVES,
    POSITIVE,
    POSITIVE_CE_SCORE,
    POSITIVE_ID,
    POSITIVE_SCORE,
    blank_mask,
    ids_and_match_keys,
    is_text_type,
)
from cltool.dataset.read import Dataset, open_dataset
from cltool.dataset.write import Output, StageTimer, readable_twice, with_rejection
from cltool.embed.cache import default_cache_dir
from cltool.errors import InputError, UsageError
from cltool.filter.judges import Verdict, Work, parse_judges
from cltool.progress import NullReporter, Reporter

FALSE_NEGATIVE, TOO_FEW_NEGATIVES = "false_negative", "too_few_negatives"
REJECTED_NEGATIVES = "_negatives"  # inside the rejected dataset: one row per removed negative
_LOAD_ROWS = 65_536


@dataclass
class Settings:
    judges: tuple[str, ...] = ("paraphrase", "lexical", "duplicate-cluster")
    vote: str = "any"
    ratio: float = 0.95
    max_score: float | None = None
    paraphrase_threshold: float = 0.5  # mine's --near-duplicate default: the same signal, calibrated alike
    lexical_threshold: float = 0.9
    cluster_threshold: float = 0.8
    cluster_ngram: int = 5
    num_perm: int = 128
    clusters_from: str | None = None
    min_negatives: int = 0
    candidates: str | None = None
    batch_size: int = 32
    device: str = "cpu"
    seed: int = 1

    def check(self) -> int:
        """Validate; returns how many judges must flag a negative."""
        judges = parse_judges(list(self.judges))
        if not judges:
            raise UsageError("give at least one --judge")
        if self.vote == "any":
            needed = 1
        elif self.vote == "all":
            needed = len(judges)
        else:
            try:
                needed = int(self.vote)
            except ValueError:
                raise UsageError(f"--vote takes any, all or a number, not {self.vote!r}") from None
            if not 1 <= needed <= len(judges):
                raise UsageError(f"--vote {needed} asks more judges than the {len(judges)} given")
        if not 0.0 < self.ratio <= 1.0:
            raise UsageError(f"--ratio must lie in (0, 1], not {self.ratio}")
        for name in ("paraphrase_threshold", "lexical_threshold", "cluster_threshold"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise UsageError(f"--{name.replace('_', '-')} must lie in (0, 1], not {getattr(self, name)}")
        if self.min_negatives < 0:
            raise UsageError(f"--min-negatives must be 0 or more, not {self.min_negatives}")
        if self.clusters_from and not any(kind == "duplicate-cluster" for kind, _ in judges):
            raise UsageError("--clusters is read by the duplicate-cluster judge", hint="add --judge duplicate-cluster")
        return needed


def build_judges(settings: Settings, cache_dir: Path) -> list:
    from cltool.filter.judges import BiEncoderJudge, ClusterJudge, CrossEncoderJudge, LexicalJudge, ParaphraseJudge

    judges = []
    for kind, argument in parse_judges(list(settings.judges)):
        if kind == "cross-encoder":
            judges.append(CrossEncoderJudge(argument, settings.ratio, settings.max_score, settings.device,
                                            settings.batch_size))
        elif kind == "bi-encoder":
            judges.append(BiEncoderJudge(argument, settings.ratio, None, settings.device, settings.batch_size,
                                         cache_dir))
        elif kind == "paraphrase":
            judges.append(ParaphraseJudge(argument, settings.paraphrase_threshold, settings.device,
                                          settings.batch_size, cache_dir))
        elif kind == "lexical":
            judges.append(LexicalJudge(settings.lexical_threshold))
        else:
            judges.append(ClusterJudge(settings.cluster_threshold, settings.cluster_ngram, settings.num_perm,
                                       settings.seed, settings.clusters_from))
    return judges


@dataclass
class _Loaded:
    work: Work
    text_index: dict[str, int]
    text_keys: list[int]
    anchor_keys: list[int]
    anchor_ids: list[str]
    row_anchor: np.ndarray  # per row: anchor index, -1 for a row rejected as empty
    row_positive: np.ndarray  # per row: text index of its positive
    pair_index: dict[tuple[int, int], int]  # (anchor, text) -> pair
    pair_anchor: np.ndarray
    pair_text: np.ndarray
    pair_score: np.ndarray  # the miner's score of the pair (NaN when the input has none)
    anchor_negatives: list[list[int]]  # per anchor: its pairs, in their first order
    anchor_lowest_score: np.ndarray  # per anchor: the miner's lowest positive score (NaN when unknown)


def _require_columns(dataset: Dataset) -> None:
    names = dataset.schema.names
    for column in (ANCHOR, POSITIVE):
        if column not in names or not is_text_type(dataset.schema.field(column).type):
            raise InputError(f"{dataset.source} has no text column {column!r}; columns found: {', '.join(names)}",
                             hint="filter reads the output of cltool mine")
    if NEGATIVES not in names:
        raise InputError(f"{dataset.source} has no mined negatives (no {NEGATIVES!r} column): cltool mine adds them",
                         hint=f"mine them first: cltool mine {dataset.source} -o MINED")


def _ids(batch: pa.RecordBatch, column: str, texts: list[str | None], derived: list[str | None]) -> list:
    if column in batch.schema.names:
        given = pc.cast(batch.column(column), pa.string()).to_pylist()
        return [g if g is not None else d for g, d in zip(given, derived)]
    return derived


def _negatives_of(batch: pa.RecordBatch, source: str) -> tuple[list, list, list, list, list[int]]:
    """The batch's negatives flattened: texts, ids (given, else derived), match keys, the miner's
    scores, and how many each row has."""
    negatives = batch.column(NEGATIVES).to_pylist()
    counts = [len(row or ()) for row in negatives]
    texts = [t for row in negatives for t in (row or ())]
    ids, keys = ids_and_match_keys(texts)
    for column in (NEGATIVE_IDS, NEGATIVE_SCORES):
        if column in batch.schema.names:
            lengths = pc.list_value_length(batch.column(column)).fill_null(0).to_pylist()
            if lengths != counts:
                raise InputError(f"{source}: {NEGATIVES} and {column} differ in length on some rows",
                                 hint="the lists must be parallel, as cltool mine writes them")
    if NEGATIVE_IDS in batch.schema.names:
        given = [i for row in batch.column(NEGATIVE_IDS).to_pylist() for i in (row or ())]
        ids = [g if g is not None else d for g, d in zip(given, ids)]
    scores = ([s for row in batch.column(NEGATIVE_SCORES).to_pylist() for s in (row or ())]
              if NEGATIVE_SCORES in batch.schema.names else [None] * len(texts))
    return texts, ids, keys, scores, counts


def _load(dataset: Dataset) -> _Loaded:
    names = dataset.schema.names
    wanted = [c for c in (ANCHOR, POSITIVE, ANCHOR_ID, POSITIVE_ID, NEGATIVES, NEGATIVE_IDS, NEGATIVE_SCORES,
                          POSITIVE_SCORE) if c in names]
    texts: list[str] = []
    text_ids: list[str] = []
    text_keys: list[int] = []
    text_index: dict[str, int] = {}
    anchor_index: dict[int, int] = {}
    anchor_texts: list[str] = []
    anchor_keys: list[int] = []
    anchor_ids: list[str] = []
    anchor_positives: list[dict[int, None]] = []
    anchor_negatives: list[list[int]] = []
    anchor_lowest: list[float] = []
    pair_index: dict[tuple[int, int], int] = {}
    pair_anchor: list[int] = []
    pair_text: list[int] = []
    pair_score: list[float] = []
    row_anchor: list[int] = []
    row_positive: list[int] = []

    def text(tid: str, value: str, key: int) -> int:
        position = text_index.get(tid)
        if position is None:
            position = text_index[tid] = len(texts)
            texts.append(value)
            text_ids.append(tid)
            text_keys.append(key)
        return position

    for batch in dataset.batches(columns=wanted, batch_rows=_LOAD_ROWS):
        blank = blank_mask(batch.column(ANCHOR)) | blank_mask(batch.column(POSITIVE))
        a_texts, p_texts = batch.column(ANCHOR).to_pylist(), batch.column(POSITIVE).to_pylist()
        a_derived, a_keys = ids_and_match_keys(a_texts)
        p_derived, p_keys = ids_and_match_keys(p_texts)
        a_ids, p_ids = _ids(batch, ANCHOR_ID, a_texts, a_derived), _ids(batch, POSITIVE_ID, p_texts, p_derived)
        negative_texts_flat, n_derived, n_keys, n_scores, counts = _negatives_of(batch, dataset.source)
        p_scores = (batch.column(POSITIVE_SCORE).to_pylist() if POSITIVE_SCORE in batch.schema.names
                    else [None] * batch.num_rows)
        flat = 0
        for r in range(batch.num_rows):
            if blank[r]:
                row_anchor.append(-1)
                row_positive.append(-1)
                flat += counts[r]
                continue
            a = anchor_index.get(a_keys[r])
            if a is None:
                a = anchor_index[a_keys[r]] = len(anchor_texts)
                anchor_texts.append(a_texts[r])
                anchor_keys.append(a_keys[r])
                anchor_ids.append(a_ids[r])
                anchor_positives.append({})
                anchor_negatives.append([])
                anchor_lowest.append(np.nan)
            p = text(p_ids[r], p_texts[r], p_keys[r])
            anchor_positives[a][p] = None
            if p_scores[r] is not None and not anchor_lowest[a] <= p_scores[r]:
                anchor_lowest[a] = p_scores[r]
            row_anchor.append(a)
            row_positive.append(p)
            for j in range(counts[r]):
                value = negative_texts_flat[flat + j]
                if value is None:
                    continue
                t = text(n_derived[flat + j], value, n_keys[flat + j])
                if (a, t) not in pair_index:
                    pair_index[(a, t)] = len(pair_anchor)
                    pair_anchor.append(a)
                    pair_text.append(t)
                    score = n_scores[flat + j]
                    pair_score.append(np.nan if score is None else score)
                    anchor_negatives[a].append(pair_index[(a, t)])
            flat += counts[r]

    positive_offsets = np.zeros(len(anchor_texts) + 1, dtype=np.int64)
    positive_offsets[1:] = np.cumsum([len(p) for p in anchor_positives])
    positive_texts = np.fromiter((t for p in anchor_positives for t in p), dtype=np.int64,
                                 count=int(positive_offsets[-1]))
    work = Work(anchor_texts, texts, text_ids, positive_offsets, positive_texts)
    return _Loaded(work, text_index, text_keys, anchor_keys, anchor_ids, np.array(row_anchor, dtype=np.int64),
                   np.array(row_positive, dtype=np.int64), pair_index, np.array(pair_anchor, dtype=np.int64),
                   np.array(pair_text, dtype=np.int64), np.array(pair_score, dtype=np.float32), anchor_negatives,
                   np.array(anchor_lowest, dtype=np.float32))


@dataclass
class _Judged:
    """Verdicts of every judge on every pair so far (grown by refills)."""

    flags: list[np.ndarray] = field(default_factory=list)  # per judge, per pair
    scores: list[np.ndarray] = field(default_factory=list)
    references: list[np.ndarray] = field(default_factory=list)

    def extend(self, verdicts: list[Verdict]) -> None:
        if not self.flags:
            self.flags = [v.flags for v in verdicts]
            self.scores = [v.scores for v in verdicts]
            self.references = [v.reference for v in verdicts]
            return
        for i, v in enumerate(verdicts):
            self.flags[i] = np.concatenate([self.flags[i], v.flags])
            self.scores[i] = np.concatenate([self.scores[i], v.scores])
            self.references[i] = np.concatenate([self.references[i], v.reference])


def _judge(judges: list, work: Work, pair_anchor: np.ndarray, pair_text: np.ndarray) -> list[Verdict]:
    return [judge.judge(work, pair_anchor, pair_text) for judge in judges]


def filter_negatives(
    input: str,
    output: str,
    settings: Settings | None = None,
    *,
    cache_dir: Path | None = None,
    rejected_output: str | None = None,
    argv: Sequence[str] | None = None,
    reporter: Reporter | None = None,
    stdin: IO[bytes] | None = None,
    stdout: IO[bytes] | None = None,
) -> dict[str, Any]:
    """Judge every mined negative of `input`; returns the output's manifest."""
    started = time.perf_counter()
    reporter = reporter or NullReporter()
    settings = settings or Settings()
    needed = settings.check()
    with readable_twice(input, stdin) as input:  # read twice: once to judge, once to write
        dataset = open_dataset(input)
        _require_columns(dataset)
        if settings.candidates:
            _check_candidates(settings.candidates)
        stages = StageTimer()
        with stages("load models"):
            judges = build_judges(settings, cache_dir or default_cache_dir())
        with stages("load"):
            loaded = _load(dataset)
        if dataset.num_rows == 0:
            raise InputError(f"{dataset.source} is empty: it has no rows", hint="check that the right input was given")
        judged = _Judged()
        with stages("judge"), reporter.task("filter judge", total=len(judges), unit="judges") as task:
            for judge in judges:
                prepare = getattr(judge, "prepare", None)
                if prepare:
                    prepare(loaded.work)
            verdicts = []
            for judge in judges:
                verdicts.append(judge.judge(loaded.work, loaded.pair_anchor, loaded.pair_text))
                task.advance(1)
            judged.extend(verdicts)
        refills: dict[int, list[int]] = {}
        refill_summary: dict[str, int] = {}
        if settings.min_negatives and settings.candidates:
            with stages("refill"):
                refills, refill_summary = _refill(loaded, judges, judged, needed, settings)
        false = np.sum(judged.flags, axis=0) >= needed if judged.flags else np.zeros(0, dtype=bool)
        params = {**vars(settings), "judges": list(settings.judges),
                  "judge_models": {j.name: j.described for j in judges}, "votes_needed": needed}
        with Output(output, command="filter", params=params, inputs=[dataset], argv=argv,
                    rejected_target=rejected_output, stdout=stdout, started=started) as out:
            out.stages.update(stages.times)
            with out.stage("write"), reporter.task("filter write", total=dataset.num_rows) as task:
                kept_per_anchor = _write(out, dataset, loaded, judges, judged, false, refills, settings, task)
            removed = _write_removed(out, loaded, judges, judged, false)
            if removed and out.rejected_target is None and out.to_stdout:
                reporter.warn(f"{removed:,} removed negatives were not kept: with -o - add --rejected DIR to keep them")
            out.summary.update(_summary(loaded, judges, judged, false, kept_per_anchor, removed, refill_summary,
                                        settings))
        return out.manifest


def _check_candidates(source: str) -> None:
    saved = open_dataset(source)
    if (saved.manifest or {}).get("command") != "mine --save-candidates":
        raise InputError(f"{source} was not written by cltool mine --save-candidates",
                         hint="give the directory that mine --save-candidates wrote")


def _kept_pairs(loaded: _Loaded, false: np.ndarray, anchor: int) -> list[int]:
    return [p for p in loaded.anchor_negatives[anchor] if not false[p]]


def _refill(loaded: _Loaded, judges: list, judged: _Judged, needed: int,
            settings: Settings) -> tuple[dict[int, list[int]], dict[str, int]]:
    """Top up anchors short of --min-negatives from the saved candidates: those mine's own rules
    allow (further down the ranking), in rank order, that the judges pass."""
    from cltool.kernels.mine import select_negatives
    from cltool.mine import ANCHOR_KEY, CANDIDATE_IDS, CANDIDATE_NEAR, CANDIDATE_SCORES, CANDIDATE_TEXTS, MATCH_KEY
    from cltool.mine import Settings as MineSettings

    false = np.sum(judged.flags, axis=0) >= needed
    short = [a for a in range(len(loaded.anchor_keys))
             if len(_kept_pairs(loaded, false, a)) < settings.min_negatives]
    summary = {"anchors_short": len(short), "anchors_refilled": 0, "negatives_added": 0, "proposals_judged": 0}
    if not short:
        return {}, summary
    saved = open_dataset(settings.candidates)
    mined = saved.manifest.get("params", {})
    rules = MineSettings(**{k: mined[k] for k in ("range_min", "max_score", "min_score", "absolute_margin",
                                                  "relative_margin", "near_duplicate") if k in mined})
    corpus = open_dataset(Path(settings.candidates) / CANDIDATE_TEXTS)
    corpus_table = pa.Table.from_batches(list(corpus.batches()), schema=corpus.schema)
    corpus_ids = corpus_table.column("id").to_pylist()
    corpus_texts = corpus_table.column("text").to_pylist()
    corpus_keys = corpus_table.column(MATCH_KEY).to_numpy().astype(np.uint64)
    corpus_index = {cid: i for i, cid in enumerate(corpus_ids)}

    wanted = {loaded.anchor_keys[a]: a for a in short}
    lists: dict[int, tuple[list, list, list]] = {}
    for batch in saved.batches([ANCHOR_KEY, CANDIDATE_IDS, CANDIDATE_SCORES, CANDIDATE_NEAR]):
        keys = batch.column(0).to_numpy()
        hit = [i for i, k in enumerate(keys.tolist()) if k in wanted]
        if hit:
            taken = batch.take(pa.array(hit))
            for k, ids, scores, near in zip(keys[hit].tolist(), *(taken.column(c).to_pylist() for c in range(1, 4))):
                lists[wanted[k]] = (ids, scores, near)
    anchors = [a for a in short if a in lists]
    if not anchors:
        return {}, summary
    width = max(len(lists[a][0]) for a in anchors)
    ids = np.full((len(anchors), width), -1, dtype=np.int32)
    scores = np.full((len(anchors), width), -np.inf, dtype=np.float32)
    near = np.full((len(anchors), width), np.nan, dtype=np.float32)
    for row, a in enumerate(anchors):
        cids, cscores, cnear = lists[a]
        ids[row, :len(cids)] = [corpus_index.get(c, -1) for c in cids]
        scores[row, :len(cids)] = cscores
        near[row, :len(cids)] = [np.nan if v is None else v for v in cnear]
    positives = [loaded.work.positives_of(a) for a in anchors]
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in positives])]).astype(np.int64)
    flat = np.concatenate(positives) if positives else np.empty(0, dtype=np.int64)
    positive_ids = np.array([corpus_index.get(loaded.work.text_ids[t], -1) for t in flat], dtype=np.int64)
    positive_keys = np.array([loaded.text_keys[t] for t in flat], dtype=np.uint64)
    anchor_keys = np.array([loaded.anchor_keys[a] for a in anchors], dtype=np.uint64)
    lowest = loaded.anchor_lowest_score[anchors].astype(np.float32)

    def rule(value):
        return np.nan if value is None else float(value)

    ranks, _, _ = select_negatives(
        ids, scores, near, corpus_keys, offsets, positive_ids, positive_keys, anchor_keys, lowest,
        rules.range_min, np.full(len(anchors), width, dtype=np.int64), rule(rules.max_score),
        rule(rules.absolute_margin), rule(rules.relative_margin), rule(rules.min_score), rule(rules.near_duplicate),
        width, 0, 0.0, 0.0, np.zeros(len(anchors), dtype=np.uint64))

    # proposals: eligible candidates in rank order that are not already a pair of the anchor
    queue: dict[int, list[tuple[int, float]]] = {}
    for row, a in enumerate(anchors):
        seen = {loaded.pair_text[p] for p in loaded.anchor_negatives[a]}
        proposals = []
        for r in ranks[row]:
            if r < 0:
                break
            c = int(ids[row, r])
            t = _add_text(loaded, corpus_ids[c], corpus_texts[c], int(corpus_keys[c]))
            if t not in seen:
                seen.add(t)
                proposals.append((t, float(scores[row, r])))
        queue[a] = proposals
    refills: dict[int, list[int]] = {}
    while True:  # rounds: each short anchor proposes as many as it lacks, all judged together
        batch_anchor, batch_text, batch_score = [], [], []
        for a in anchors:
            lack = settings.min_negatives - len(_kept_pairs(loaded, false, a)) - len(refills.get(a, ()))
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
        judged.extend(_judge(judges, loaded.work, pair_anchor, pair_text))
        false = np.sum(judged.flags, axis=0) >= needed
        summary["proposals_judged"] += len(batch_anchor)
        for offset, a in enumerate(batch_anchor):
            if not false[first + offset]:
                refills.setdefault(a, []).append(first + offset)
    summary["anchors_refilled"] = len(refills)
    summary["negatives_added"] = sum(len(v) for v in refills.values())
    return refills, summary


def _add_text(loaded: _Loaded, tid: str, value: str, key: int) -> int:
    position = loaded.text_index.get(tid)
    if position is None:
        position = loaded.text_index[tid] = len(loaded.work.texts)
        loaded.work.texts.append(value)
        loaded.work.text_ids.append(tid)
        loaded.text_keys.append(key)
    return position


def _write(out: Output, dataset: Dataset, loaded: _Loaded, judges: list, judged: _Judged, false: np.ndarray,
           refills: dict[int, list[int]], settings: Settings, task) -> np.ndarray:
    """Second pass: each row's negatives, filtered and refilled. Returns the negatives kept per anchor."""
    ce = next((i for i, j in enumerate(judges) if j.name == "cross-encoder"), None)
    texts = pa.array(loaded.work.texts, pa.large_string())
    text_ids = pa.array(loaded.work.text_ids, pa.string())
    kept_per_anchor = np.zeros(len(loaded.anchor_keys), dtype=np.int64)
    for a in range(len(loaded.anchor_keys)):
        kept_per_anchor[a] = len(_kept_pairs(loaded, false, a)) + len(refills.get(a, ()))
    ranks = NEGATIVE_RANKS in dataset.schema.names
    row = 0
    for batch in dataset.batches(batch_rows=_LOAD_ROWS):
        table = pa.Table.from_batches([batch])
        out.count_input(table.num_rows)
        anchors = loaded.row_anchor[row:row + table.num_rows]
        negative_texts, negative_ids, _, _, counts = _negatives_of(batch, dataset.source)
        rank_lists = table.column(NEGATIVE_RANKS).to_pylist() if ranks else None
        row_pairs: list[list[int]] = []
        row_ranks: list[list[int | None]] = []
        flat_start = 0
        for r in range(table.num_rows):
            a = int(anchors[r])
            start, flat_start = flat_start, flat_start + counts[r]
            pairs, kept_ranks = [], []
            if a >= 0:
                for j in range(counts[r]):
                    if negative_texts[start + j] is None:
                        continue
                    p = loaded.pair_index[(a, loaded.text_index[negative_ids[start + j]])]
                    if not false[p] and p not in pairs:
                        pairs.append(p)
                        kept_ranks.append(rank_lists[r][j] if rank_lists is not None else None)
                for p in refills.get(a, ()):
                    pairs.append(p)
                    kept_ranks.append(None)
            row_pairs.append(pairs)
            row_ranks.append(kept_ranks)
        short = np.array([a < 0 or kept_per_anchor[a] < settings.min_negatives for a in anchors.tolist()], dtype=bool)
        flat = np.array([p for pairs in row_pairs for p in pairs], dtype=np.int64)
        offsets = pa.array(np.concatenate([[0], np.cumsum([len(p) for p in row_pairs])]).astype(np.int32))

        def lists(values: pa.Array) -> pa.ListArray:
            return pa.ListArray.from_arrays(offsets, values)

        text_of = pa.array(loaded.pair_text[flat]) if len(flat) else pa.array([], pa.int64())
        # a previous filter's judge columns go too: they describe negatives this run may have removed
        replaced = [c for c in (NEGATIVES, NEGATIVE_IDS, NEGATIVE_SCORES, NEGATIVE_RANKS, *JUDGE_SCORE_COLUMNS.values(),
                                POSITIVE_CE_SCORE) if c in table.schema.names]
        columns = {NEGATIVES: lists(texts.take(text_of).cast(pa.string())),
                   NEGATIVE_IDS: lists(text_ids.take(text_of)),
                   NEGATIVE_SCORES: lists(pa.array(loaded.pair_score[flat], pa.float32(),
                                                   mask=np.isnan(loaded.pair_score[flat])))}
        if ranks:
            columns[NEGATIVE_RANKS] = lists(pa.array([x for rr in row_ranks for x in rr], pa.int32()))
        for i, judge in enumerate(judges):  # the judges that score (duplicate-cluster only flags)
            if judge.name in JUDGE_SCORE_COLUMNS:
                values = judged.scores[i][flat]
                columns[JUDGE_SCORE_COLUMNS[judge.name]] = lists(pa.array(values, pa.float32(), mask=np.isnan(values)))
        if ce is not None:
            positives = loaded.row_positive[row:row + table.num_rows]
            valid = anchors >= 0
            positive_ce = np.full(table.num_rows, np.nan, dtype=np.float32)
            if valid.any():
                positive_ce[valid] = judges[ce].score(loaded.work, anchors[valid], positives[valid])
            columns[POSITIVE_CE_SCORE] = pa.array(positive_ce, pa.float32(), mask=np.isnan(positive_ce))
        result = table.drop_columns(replaced)
        for name, values in columns.items():
            result = result.append_column(name, values)
        out.write(result.filter(pa.array(~short)))
        if short.any():
            gone = result.filter(pa.array(short))
            reasons = [EMPTY_TEXT if a < 0 else TOO_FEW_NEGATIVES for a in anchors[short].tolist()]
            details = ["anchor or positive is null or blank" if a < 0 else
                       f"{int(kept_per_anchor[a])} negatives left after judging, --min-negatives "
                       f"{settings.min_negatives} asked" for a in anchors[short].tolist()]
            out.reject(with_rejection(gone, reason=reasons, detail=details))
        row += table.num_rows
        task.advance(table.num_rows)
    return kept_per_anchor


def _write_removed(out: Output, loaded: _Loaded, judges: list, judged: _Judged, false: np.ndarray) -> int:
    """One row per removed (anchor, negative): who flagged it and every judge's scores."""
    removed = np.nonzero(false)[0]
    writer = out.rejected_side_dataset(REJECTED_NEGATIVES)
    anchors, texts = loaded.pair_anchor[removed], loaded.pair_text[removed]
    flagged_by = [[j.name for i, j in enumerate(judges) if judged.flags[i][p]] for p in removed.tolist()]
    columns: dict[str, pa.Array] = {
        ANCHOR: pa.array([loaded.work.anchor_texts[a] for a in anchors.tolist()], pa.string()),
        ANCHOR_ID: pa.array([loaded.anchor_ids[a] for a in anchors.tolist()], pa.string()),
        "negative": pa.array([loaded.work.texts[t] for t in texts.tolist()], pa.string()),
        "negative_id": pa.array([loaded.work.text_ids[t] for t in texts.tolist()], pa.string()),
        "negative_score": pa.array(loaded.pair_score[removed], pa.float32(), mask=np.isnan(loaded.pair_score[removed])),
        "reason": pa.array([FALSE_NEGATIVE] * len(removed), pa.string()),
        "judges": pa.array(flagged_by, pa.list_(pa.string())),
        "detail": pa.array([_detail(judges, judged, p) for p in removed.tolist()], pa.string()),
    }
    for i, judge in enumerate(judges):
        column = judge.name.replace("-", "_")
        scores, reference = judged.scores[i][removed], judged.references[i][removed]
        if not np.isnan(scores).all():
            columns[f"{column}_score"] = pa.array(scores, pa.float32(), mask=np.isnan(scores))
        if not np.isnan(reference).all():
            columns[f"{column}_positive_score"] = pa.array(reference, pa.float32(), mask=np.isnan(reference))
    if writer is not None:
        writer.write(pa.table(columns))
    return len(removed)


def _detail(judges: list, judged: _Judged, pair: int) -> str:
    parts = []
    for i, judge in enumerate(judges):
        if not judged.flags[i][pair]:
            continue
        score, reference = judged.scores[i][pair], judged.references[i][pair]
        if judge.name == "lexical":
            parts.append(f"lexical: Jaccard {score:.3f} with a positive")
        elif judge.name == "duplicate-cluster":
            parts.append("duplicate-cluster: in a positive's near-duplicate cluster")
        else:
            parts.append(f"{judge.name}: {score:.4f} vs positive {reference:.4f}")
    return "; ".join(parts)


def _summary(loaded: _Loaded, judges: list, judged: _Judged, false: np.ndarray, kept_per_anchor: np.ndarray,
             removed: int, refill_summary: dict[str, int], settings: Settings) -> dict[str, Any]:
    from cltool.mine import distribution

    original = len(false) - refill_summary.get("proposals_judged", 0)
    summary: dict[str, Any] = {
        "anchors": len(loaded.anchor_keys),
        "negatives": {"judged": original, "removed": int(false[:original].sum()),
                      "kept": int(original - false[:original].sum())},
        "flagged_by_judge": {j.name: int(judged.flags[i][:original].sum()) for i, j in enumerate(judges)},
        "removed_negatives_written": removed,
        "anchors_without_negatives": int((kept_per_anchor == 0).sum()),
    }
    if settings.min_negatives:
        summary["anchors_below_min_negatives"] = int((kept_per_anchor < settings.min_negatives).sum())
    if refill_summary:
        summary["refill"] = refill_summary
    for i, judge in enumerate(judges):
        if judge.name in ("cross-encoder", "bi-encoder"):
            summary[f"{judge.name}_scores"] = {
                "positive": distribution(judge.positive_scores.astype(np.float64)),
                "negative": distribution(judged.scores[i][:original].astype(np.float64)),
                "pairs_scored": judge.pairs_scored,
            }
    return summary

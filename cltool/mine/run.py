"""`mine`: the step, stage by stage (load, search, select, deepen, save, write)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from cltool.calibration import AUTO
from cltool.dataset.columns import ANCHOR, embedding_column
from cltool.dataset.pairs import comparable_info, embedding_info, require_comparable
from cltool.dataset.read import IN_MEMORY
from cltool.dataset.write import check_replaceable
from cltool.errors import UsageError
from cltool.mine.calibrate import calibrate
from cltool.mine.candidates import load_candidates, saved_calibration, write_candidates
from cltool.mine.deepen import deepen
from cltool.mine.load import add_corpus, corpus_columns, load_pairs, positives_by_anchor
from cltool.mine.ranked import near_positives, search_anchors
from cltool.mine.search import import_torch_early
from cltool.mine.reuse import cap_reuse
from cltool.mine.select import Selector, positive_ranks
from cltool.mine.settings import Settings
from cltool.mine.summary import chosen_summary, distribution
from cltool.mine.write import MINED_COLUMNS, write_mined
from cltool.step import Run, prepare, require_rows


def mine(
    input: str | pa.Table,
    output: str,
    settings: Settings | None = None,
    run: Run | None = None,
    *,
    corpus: Sequence[str] = (),
    save_candidates: str | None = None,
    from_candidates: str | None = None,
) -> dict[str, Any]:
    """Mine hard negatives for the pairs in `input` (with the rows of the `corpus` tables as more
    candidates); returns the output's manifest. `save_candidates` keeps every anchor's ranked
    candidates in a directory that `from_candidates` (or filter's refill) reads instead of searching."""
    settings, run = prepare(settings, Settings, run, output)
    if save_candidates:
        check_replaceable(Path(save_candidates), "--save-candidates")
    if from_candidates and (corpus or save_candidates):
        raise UsageError("--from-candidates reuses a search: --corpus and --save-candidates belong to the search",
                         hint="give --corpus and --save-candidates to the run that searches")
    with run.readable_twice(input) as input:  # read twice: once to mine, once to write
        dataset = run.open(input)
        corpora = [run.open(c) for c in corpus]
        with run.stage("load"):
            for c in corpora:  # the anchors are searched among the corpus's texts: a query and its documents
                text_column, _ = corpus_columns(c)
                anchors, texts = dataset.schema.field(embedding_column(ANCHOR)), c.schema.field(embedding_column(text_column))
                require_comparable(comparable_info(anchors), comparable_info(texts), same_column=False,
                                   where=f"{anchors.name} of {dataset.source} and {texts.name} of the corpus {c.source}")
            capacity = (dataset.num_rows or 0) + sum(c.num_rows or 0 for c in corpora)
            if not from_candidates and embedding_column(ANCHOR) in dataset.schema.names:
                dim = getattr(dataset.schema.field(embedding_column(ANCHOR)).type, "list_size", 0)
                import_torch_early(dataset.num_rows or 0, capacity, dim, settings.shallowest_window(), settings.index)
            pairs, candidates = load_pairs(dataset, capacity)
            for c in corpora:
                add_corpus(c, candidates)
        require_rows(dataset)
        summary: dict[str, Any] = {"anchors": len(pairs.anchor_keys)}
        if not from_candidates and settings.num_negatives > len(candidates):
            # work and memory scale with -n: bound them by what the data can give
            run.reporter.warn(f"-n {settings.num_negatives:,} asks more negatives than there are candidates "
                              f"({len(candidates):,}): mining at most {len(candidates):,} per anchor")
            summary["num_negatives_asked"] = settings.num_negatives
            settings = replace(settings, num_negatives=len(candidates))
        positives, lowest = positives_by_anchor(pairs)
        with run.stage("calibrate"):  # what a cosine means on this model's and this data's own scale
            calibration = (saved_calibration(from_candidates) if from_candidates else None) or calibrate(
                pairs, candidates, settings.seed)
        summary["calibration"] = calibration.describe(settings.near_duplicate == AUTO)
        if settings.near_duplicate == AUTO:
            settings = replace(settings, near_duplicate=calibration.near_duplicate.value)
        if not from_candidates and settings.range_min > len(candidates) - settings.num_negatives:
            # a small corpus: skip fewer of the top ranks rather than mine nothing (as -n above)
            skip = len(candidates) - settings.num_negatives
            run.reporter.warn(f"--range-min {settings.range_min:,} leaves fewer than -n {settings.num_negatives:,} "
                              f"of the {len(candidates):,} candidates: skipping the top {skip:,} instead")
            summary["range_min_asked"] = settings.range_min
            settings = replace(settings, range_min=skip)
        range_maxes = settings.windows(np.diff(positives.offsets))
        if not from_candidates:  # no window holds more than every candidate
            range_maxes = np.minimum(range_maxes, len(candidates))
        # the cosine of each candidate with the anchor's nearest positive: the near-duplicate rule's signal
        needs_near = settings.near_duplicate is not None or bool(save_candidates)

        if from_candidates:
            with run.stage("load candidates"):
                candidates, parts = load_candidates(from_candidates, pairs, candidates, range_maxes)
            positives, lowest = positives_by_anchor(pairs)  # re-indexed into the saved candidates
            summary["from_candidates"] = from_candidates
        else:
            with run.stage("search"):
                parts, summary["search"] = search_anchors(pairs, candidates, range_maxes, settings, run.reporter)
            with run.stage("near-duplicates"):
                for part in parts if needs_near else ():
                    near_positives(part, candidates, positives)
        summary["candidates"] = {"total": len(candidates), "positives": candidates.from_positives,
                                 "corpus": len(candidates) - candidates.from_positives, **(
                                     {"corpus_skipped": candidates.skipped} if candidates.skipped else {})}

        selector = Selector(np.asarray(candidates.keys, dtype=np.uint64), pairs.anchor_keys, positives, lowest,
                            range_maxes, settings)
        with run.stage("select"):
            chosen = selector.select(parts)
        if settings.deepens:
            with run.stage("deepen"):
                summary["deepened"] = deepen(parts, chosen, candidates, pairs, selector, needs_near,
                                             calibration.deepening_floor.value)
        if settings.max_reuse is not None:
            with run.stage("cap reuse"):
                summary["reuse"] = cap_reuse(parts, chosen, selector, len(candidates))
        with run.stage("select"):
            ranks = positive_ranks(parts, selector, pairs.row_anchor, pairs.row_score, len(candidates))
        pairs.queries = candidates.vectors = None  # the vectors are done with: let the memory go
        summary["window"] = {"range_min": settings.range_min,
                             "range_max": distribution(range_maxes.astype(np.float64))}
        summary.update(chosen_summary(chosen, pairs, settings.num_negatives))

        params = {**settings.params(), "corpus": [c if isinstance(c, str) else IN_MEMORY for c in corpus],
                  "from_candidates": from_candidates,
                  "save_candidates": save_candidates, "embedding": embedding_info(pairs.fields[0])}
        if save_candidates:
            with run.stage("save candidates"):
                write_candidates(save_candidates, pairs, candidates, parts, params, dataset, corpora,
                                 summary["calibration"])
        replaced = [c for c in MINED_COLUMNS if c in dataset.schema.names]
        if replaced:
            run.reporter.warn(f"the input's {', '.join(replaced)} are replaced by the mined ones")

        with run.output(output, command="mine", params=params, inputs=[dataset, *corpora]) as out:
            with out.stage("write"), run.reporter.task("mine write", total=dataset.num_rows) as task:
                write_mined(out, dataset, pairs, candidates, chosen, settings, replaced, task, ranks)
            out.summary.update(summary)
        return out.manifest


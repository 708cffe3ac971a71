"""`filter_negatives`: the step, stage by stage (load models, load, judge, refill, write)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from cltool.dataset.columns import ANCHOR, embedding_column
from cltool.dataset.pairs import embedding_info
from cltool.filter.verdicts import Judged, judge_pairs
from cltool.filter.judges import build_judges
from cltool.filter.load import load, require_mined
from cltool.filter.pair_judges import build_pair_judges
from cltool.filter.pair_judges.verdicts import PairsJudged, judge_rows
from cltool.filter.refill import refill
from cltool.filter.settings import Settings
from cltool.filter.summary import filter_summary
from cltool.filter.write import write_filtered, write_removed
from cltool.step import Run, prepare, require_rows


def filter_negatives(
    input: str | pa.Table,
    output: str,
    settings: Settings | None = None,
    run: Run | None = None,
    *,
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """Judge every mined negative of `input`; returns the output's manifest. `cache_dir`: the embedding
    cache the embedding-model judges read and fill (default: cltool's)."""
    from cltool.embed.cache import default_cache_dir
    from cltool.mine.candidates import open_saved, require_scored_alike

    settings, run = prepare(settings, Settings, run, output)
    needed = settings.votes_needed()
    pair_needed = settings.pair_votes_needed()
    with run.readable_twice(input) as input:  # read twice: once to judge, once to write
        dataset = run.open(input)
        require_mined(dataset)
        if settings.candidates:  # refused before any model loads
            saved = open_saved(settings.candidates)
            if embedding_column(ANCHOR) in dataset.schema.names:  # the refill's saved scores meet the input's
                require_scored_alike(saved, embedding_info(dataset.schema.field(embedding_column(ANCHOR))),
                                     dataset.source)
        with run.stage("load models"):
            judges = build_judges(settings, cache_dir or default_cache_dir(), run.reporter)
            pair_judges = build_pair_judges(settings)
        with run.stage("load"):
            loaded = load(dataset)
        for judge in judges:  # a model judge with mine's own model repeats mine's scores: it says so
            judge.independence(dataset.schema, run.reporter)
        require_rows(dataset)
        judged = Judged()
        with run.stage("judge"), run.reporter.task("filter judge", total=len(judges), unit="judges") as task:
            for judge in judges:
                judge.prepare(loaded.work)
            judged.extend(judge_pairs(judges, loaded.work, loaded.pair_anchor, loaded.pair_text, task.advance))
        pairs_judged = PairsJudged(mismatched=np.zeros(len(loaded.row_anchor), dtype=bool))
        if pair_judges:  # every row: does its positive answer its anchor?
            with run.stage("judge pairs"):
                pairs_judged = judge_rows(dataset, loaded, pair_judges, pair_needed, settings.device,
                                           settings.batch_size, cache_dir or default_cache_dir(), run.reporter)
        refills: dict[int, list[int]] = {}
        refill_summary: dict[str, int] = {}
        if settings.min_negatives and settings.candidates:
            with run.stage("refill"):
                refills, refill_summary = refill(loaded, judges, judged, needed, settings)
        false = judged.false(needed)
        params = {**settings.params(), "judges": list(settings.judges),
                  "judge_models": {j.name: j.described for j in judges}, "votes_needed": needed,
                  "pair_judges": list(settings.pair_judges), "pair_votes_needed": pair_needed}
        with run.output(output, command="filter", params=params, inputs=[dataset]) as out:
            with out.stage("write"), run.reporter.task("filter write", total=dataset.num_rows) as task:
                kept_per_anchor = write_filtered(out, dataset, loaded, judges, judged, false, refills,
                                                 pairs_judged, settings, task)
            removed = write_removed(out, loaded, judges, judged, false)
            if removed and out.rejected_target is None and out.to_stdout:
                run.reporter.warn(f"{removed:,} removed negatives were not kept: with -o - add --rejected DIR to "
                                  "keep them")
            out.summary.update(filter_summary(loaded, judges, judged, false, kept_per_anchor, removed,
                                              refill_summary, pairs_judged, settings))
        return out.manifest

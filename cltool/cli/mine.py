"""`cltool mine`: parse options, call `cltool.mine.mine`, report."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cltool.cli.common import (
    EngineOpt,
    Json,
    OutputOpt,
    Quiet,
    RayAddressOpt,
    RejectedOpt,
    RichReporter,
    example,
    optional_number,
    report_step,
    run_step,
    seed_option,
    threshold_option,
)
from cltool.cli.strategies import choices_help, shown, strategy_options
from cltool.mine.samplers import SAMPLERS
from cltool.mine.settings import Settings

EPILOG = example(
    "cltool mine data/embedded -o data/mined                  # 3 negatives, the hardest that are not near-duplicates",
    "cltool mine data/embedded --corpus data/corpus-embedded -n 8 --range-min 10 --sampling random -o data/mined",
    "cltool mine data/embedded --save-candidates data/candidates -o data/mined",
    "cltool mine data/embedded --from-candidates data/candidates --relative-margin 0.1 -o data/mined-strict",
)


@strategy_options(SAMPLERS, into="sampling_options", panel="Sampler options")
def mine_command(
    input: Annotated[str, typer.Argument(metavar="INPUT", help="Embedded pairs: dataset directory, Parquet file, "
                                         "glob, or -.")],
    output: OutputOpt,
    corpus: Annotated[list[str] | None, typer.Option("--corpus", metavar="CORPUS", help="Embedded corpus table (id, "
                                                     "text, text_embedding) whose rows are candidates too; "
                                                     "repeatable.")] = None,
    num_negatives: Annotated[int, typer.Option("--num-negatives", "-n", help="Negatives per anchor.")] = (
        Settings.num_negatives),
    range_min: Annotated[int, typer.Option("--range-min", help="Skip the candidates ranked above this (rank 0 is "
                                           "the most similar, positives included): the very top of a "
                                           "model's list is where texts that say what the positive "
                                           "says sit.")] = Settings.range_min,
    range_max: Annotated[int | None, typer.Option("--range-max", help="Look no deeper than this rank (default: "
                                                  "range-min + 10 x num-negatives + 2 x most positives, at least 30, "
                                                  "grown for anchors left short: see --max-window).")] = None,
    max_window: Annotated[int, typer.Option("--max-window", help="Without --range-max, an anchor short of "
                                            "negatives after the rules is searched again, 4x as deep each round, "
                                            "up to this rank; 0: never.")] = Settings.max_window,
    max_reuse: Annotated[int | None, typer.Option("--max-reuse", help="Hub control: no candidate is a negative of "
                                                  "more than this many anchors; past it, an anchor takes its next "
                                                  "eligible candidate (earlier anchors in the input keep theirs). "
                                                  "Default: no cap.")] = None,
    relative_margin: Annotated[str, typer.Option("--relative-margin", help="TopK-PercPos: a negative scores below "
                                                 "pos - |pos| x m, pos being the anchor's lowest positive score; "
                                                 "'off' (the default: it trained worse models on real data, "
                                                 "see the README) or e.g. 0.05.")] = shown(Settings.relative_margin),
    absolute_margin: Annotated[str | None, typer.Option("--absolute-margin", help="TopK-MarginPos: a negative "
                                                        "scores below pos - m.")] = None,
    max_score: Annotated[str | None, typer.Option("--max-score", help="TopK-Abs: a negative scores at most "
                                                  "this.")] = None,
    min_score: Annotated[str | None, typer.Option("--min-score", help="A negative scores at least this.")] = None,
    near_duplicate: Annotated[str, typer.Option("--near-duplicate", help="Never a negative: a candidate whose cosine "
                                                "with one of the anchor's positives reaches this (a paraphrase "
                                                "of it: a false negative). auto (the default): read off the data, "
                                                "the cosine that only 1% of random pairs of its texts reach under "
                                                "the model that embedded them; a number: that cosine; off.")] = (
        shown(Settings.near_duplicate)),
    sampling: Annotated[str, typer.Option("--sampling", help=choices_help(
        SAMPLERS, "How the negatives are picked from the candidates that pass the rules"))] = Settings.sampling,
    seed: seed_option("Sampling, and IVF training") = Settings.seed,
    index: Annotated[str, typer.Option("--index", help="auto (exact unless anchors x candidates is large), flat "
                                       "(exact), ivf, hnsw.")] = Settings.index,
    nprobe: Annotated[int | None, typer.Option("--nprobe", min=1, help="ivf: lists searched per anchor.")] = None,
    nlist: Annotated[int | None, typer.Option("--nlist", min=1, help="ivf: lists (default 4 sqrt(candidates)).")] = (
        None),
    target_recall: Annotated[float, typer.Option("--target-recall", help="ivf, hnsw: the recall@10 against exact "
                                                 "search, measured on a sample of anchors first; ivf raises its "
                                                 "nprobe until it is reached, or searches exactly where that is as "
                                                 "fast (a given --nprobe is measured, not raised).")] = Settings.target_recall,
    min_negatives: Annotated[int, typer.Option("--min-negatives", help="Rows whose anchor got fewer go to OUT.rejected "
                                               "(default 0: every anchor is kept, short ones counted).")] = (
        Settings.min_negatives),
    save_candidates: Annotated[str | None, typer.Option("--save-candidates", metavar="DIR", help="Keep every "
                                                        "anchor's ranked candidates, to choose again later without "
                                                        "searching.")] = None,
    from_candidates: Annotated[str | None, typer.Option("--from-candidates", metavar="DIR", help="Choose from "
                                                        "candidates saved by --save-candidates instead of "
                                                        "searching.")] = None,
    engine: EngineOpt = None,
    ray_address: RayAddressOpt = None,
    rejected: RejectedOpt = None,
    json_out: Json = False,
    quiet: Quiet = False,
    sampling_options: dict[str, Any] | None = None,
) -> None:
    """Mine positive-aware hard negatives: for each anchor, the most similar candidates (the unique
    positives plus any --corpus) that are not one of its positives (by id, by text, or a
    near-duplicate), not the anchor, and score safely below its lowest-scoring positive.

    Adds negatives, negative_ids, negative_scores, negative_ranks and positive_score to every row.
    Rows of the same anchor share its negatives. Anchors short of negatives are kept and counted,
    unless --min-negatives sends them to OUT.rejected.
    """
    from cltool.mine import mine

    settings = Settings(
        num_negatives=num_negatives, range_min=range_min, range_max=range_max,
        max_score=optional_number(max_score, "--max-score"), min_score=optional_number(min_score, "--min-score"),
        absolute_margin=optional_number(absolute_margin, "--absolute-margin"),
        relative_margin=optional_number(relative_margin, "--relative-margin"),
        near_duplicate=threshold_option(near_duplicate, "--near-duplicate"), sampling=sampling,
        sampling_options=sampling_options or {}, seed=seed, index=index, nprobe=nprobe, nlist=nlist,
        target_recall=target_recall,
        min_negatives=min_negatives, max_window=max_window, max_reuse=max_reuse, engine=engine,
        ray_address=ray_address)

    def report(manifest: dict[str, Any], reporter: RichReporter) -> None:
        _report(manifest["summary"], settings.num_negatives, reporter)
        report_step("mine", manifest, output, reporter)

    run_step("mine", mine, input, output, settings, json_out=json_out, quiet=quiet, rejected=rejected, report=report,
             corpus=corpus or (), save_candidates=save_candidates, from_candidates=from_candidates)


def _report(summary: dict[str, Any], asked: int, reporter: RichReporter) -> None:
    def spread(stats: dict[str, Any] | None) -> str:
        if not stats:
            return "none"
        return f"median {stats['median']:.3f} (p5 {stats['p5']:.3f}, p95 {stats['p95']:.3f})"

    anchors = summary["anchors"]
    reporter.info(f"mine: {anchors:,} anchors; {summary['anchors_full']:,} got {asked} negatives, "
                  f"{summary['anchors_short']:,} fewer, {summary['anchors_without_negatives']:,} none")
    reporter.info(f"  positive score {spread(summary['positive_score'])}; "
                  f"negative score {spread(summary['negative_score'])}")
    removed = ", ".join(f"{rule} {count:,}" for rule, count in summary["removed_by_rule"].items()) or "none"
    window = summary["window"]
    deepest = int(window["range_max"]["max"]) if window["range_max"] else window["range_min"]
    reporter.info(f"  candidates removed in ranks {window['range_min']}..{deepest}: {removed}")
    reuse = summary.get("reuse")
    if reuse:
        before, after = reuse["before"], reuse["after"]
        reporter.info(f"  --max-reuse {reuse['max_reuse']}: the most used negative was chosen for "
                      f"{before['most_used']:,} anchors, now {after['most_used']:,}; {reuse['replaced']:,} "
                      f"replaced, {reuse['kept_over_cap']:,} kept over the cap (no other eligible candidate)")
    deepened = summary.get("deepened")
    if deepened and deepened["anchors_deepened"]:
        reporter.info(f"  {deepened['anchors_deepened']:,} anchors short after the rules were searched deeper "
                      f"(up to rank {deepest}); {deepened['still_short']:,} still short")
    short = summary["anchors_short"] + summary["anchors_without_negatives"]
    if short:
        from cltool.mine.hints import loosen_hint

        rules = loosen_hint(summary)
        reporter.info(f"  {short:,} anchors short of {asked}: "
                      + (f"{rules}; or search deeper (--max-window, --range-max)" if rules else
                         "no rule you can loosen removed candidates: search deeper (--max-window, --range-max), "
                         "or add candidates with --corpus"))

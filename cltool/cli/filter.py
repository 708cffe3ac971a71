"""`cltool filter`: parse options, call `cltool.filter.filter_negatives`, report."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cltool.cli.common import (
    BatchSizeOpt,
    DeviceOpt,
    Json,
    OutputOpt,
    Quiet,
    RejectedOpt,
    RichReporter,
    deprecated_alias,
    example,
    report_step,
    run_step,
    seed_option,
)
from cltool.cli.strategies import strategy_options
from cltool.filter.judges import JUDGES, form
from cltool.filter.pair_judges import PAIR_JUDGES
from cltool.filter.settings import Settings

EPILOG = example(
    "cltool filter data/mined -o data/filtered                       # lexical overlap and near-duplicate clusters",
    "cltool filter ingested/ --judge paraphrase -o data/filtered      # negatives another miner chose",
    "cltool filter data/mined --judge cross-encoder:models/reranker --judge lexical --vote any -o data/filtered",
    "cltool filter data/mined --judge bi-encoder:models/bge-small --min-negatives 3 --candidates data/candidates "
    "-o data/filtered",
    "cltool filter data/mined --pair-judge consistency --pair-judge anchor-consistency -o data/filtered"
    "   # and mismatched pairs",
)


def _judges_help() -> str:
    judges = ", ".join(f"{form(judge)} ({judge.help})" for judge in JUDGES.values())
    return (f"The judges: {judges}; repeatable (default: {' and '.join(Settings.judges)}, the signals mine does not "
            "use).")


def _pair_judges_help() -> str:
    judges = ", ".join(f"{name}[:MODEL] ({judge.help})" for name, judge in PAIR_JUDGES.items())
    return (f"Also judge each row's pair: {judges}; without MODEL, the input's embeddings; repeatable; rows found "
            "mismatched go to OUT.rejected (default: none).")


@strategy_options(JUDGES, into="judge_options", panel="Judge options")
def filter_command(
    input: Annotated[str, typer.Argument(metavar="INPUT", help="Mined pairs (cltool mine output): dataset "
                                         "directory, Parquet file, glob, or -.")],
    output: OutputOpt,
    judge: Annotated[list[str] | None, typer.Option("--judge", metavar="JUDGE", help=_judges_help())] = None,
    vote: Annotated[str, typer.Option("--vote", help="A negative is false when any, all, or this many judges "
                                      "flag it.")] = Settings.vote,
    clusters: Annotated[str | None, typer.Option("--clusters", metavar="DEDUP_OUTPUT", hidden=True,
                                                 help="Deprecated: --clusters-from.")] = None,
    min_negatives: Annotated[int, typer.Option("--min-negatives", help="Anchors left with fewer are refilled from "
                                               "--candidates, or their rows go to OUT.rejected.")] = (
        Settings.min_negatives),
    candidates: Annotated[str | None, typer.Option("--candidates", metavar="DIR", help="Saved candidates (cltool "
                                                   "mine --save-candidates) to refill from.")] = None,
    pair_judge: Annotated[list[str] | None, typer.Option("--pair-judge", metavar="PAIR_JUDGE", help=(
        _pair_judges_help()))] = None,
    pair_vote: Annotated[str, typer.Option("--pair-vote", help="A pair is mismatched when any, all, or this many "
                                           "pair judges flag it.")] = Settings.pair_vote,
    mismatch_share: Annotated[float, typer.Option("--mismatch-share", help="A pair judge flags a row when more "
                                                  "than this share of its mismatched pairings (other positives "
                                                  "for its anchor, ...) outscore its own pair.")] = (
        Settings.mismatch_share),
    batch_size: BatchSizeOpt = Settings.batch_size,
    device: DeviceOpt = Settings.device,
    seed: seed_option("MinHash permutations") = Settings.seed,
    rejected: RejectedOpt = None,
    json_out: Json = False,
    quiet: Quiet = False,
    judge_options: dict[str, Any] | None = None,
) -> None:
    """Remove false negatives: mined negatives that independent judges say are really positives.

    Each removed negative is kept in OUT.rejected.negatives with the judges that flagged it and
    their scores. With a cross-encoder, negative_ce_scores and positive_ce_score are added for
    distillation. With --pair-judge, rows whose positive does not answer their anchor go to
    OUT.rejected (mismatched_pair), and every row keeps each pair judge's share. Models are loaded
    offline only.
    """
    from cltool.filter import filter_negatives

    judge_options = dict(judge_options or {})
    clusters_from = deprecated_alias("--clusters", "--clusters-from", clusters, judge_options.get("clusters_from"))
    if clusters_from is not None:
        judge_options["clusters_from"] = clusters_from
    settings = Settings(judges=tuple(judge or Settings.judges), vote=vote, judge_options=judge_options,
                        min_negatives=min_negatives, candidates=candidates, batch_size=batch_size, device=device,
                        seed=seed, pair_judges=tuple(pair_judge or Settings.pair_judges), pair_vote=pair_vote,
                        mismatch_share=mismatch_share)

    def report(manifest: dict[str, Any], reporter: RichReporter) -> None:
        _report(manifest["summary"], reporter)
        report_step("filter", manifest, output, reporter)

    run_step("filter", filter_negatives, input, output, settings, json_out=json_out, quiet=quiet, rejected=rejected,
             report=report)


def _report(summary: dict[str, Any], reporter: RichReporter) -> None:
    negatives = summary["negatives"]
    flagged = ", ".join(f"{name} {count:,}" for name, count in summary["flagged_by_judge"].items())
    reporter.info(f"filter: {summary['anchors']:,} anchors; {negatives['judged']:,} negatives judged, "
                  f"{negatives['removed']:,} removed as false (flagged: {flagged})")
    if "refill" in summary:
        refill = summary["refill"]
        reporter.info(f"  refill: {refill['anchors_short']:,} anchors short, {refill['anchors_refilled']:,} "
                      f"refilled with {refill['negatives_added']:,} negatives")
    reporter.info(f"  {summary['anchors_without_negatives']:,} anchors have no negatives left")
    if "pairs" in summary:
        pairs = summary["pairs"]
        flagged = ", ".join(f"{name} {count:,}" for name, count in pairs["flagged_by_judge"].items())
        reporter.info(f"  pairs: {pairs['judged']:,} judged, {pairs['removed']:,} removed as mismatched "
                      f"({pairs['removed_share']:.1%}; flagged: {flagged}; vote {pairs['vote']})")

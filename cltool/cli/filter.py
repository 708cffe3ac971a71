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
    optional_number,
    report_step,
    run_step,
    seed_option,
    threshold_option,
)

EPILOG = example(
    "cltool filter data/mined -o data/filtered                       # lexical overlap and near-duplicate clusters",
    "cltool filter ingested/ --judge paraphrase -o data/filtered      # negatives another miner chose",
    "cltool filter data/mined --judge cross-encoder:models/reranker --judge lexical --vote any -o data/filtered",
    "cltool filter data/mined --judge bi-encoder:models/bge-small --min-negatives 3 --candidates data/candidates "
    "-o data/filtered",
    "cltool filter data/mined --pair-judge consistency --pair-judge anchor-consistency -o data/filtered"
    "   # and mismatched pairs",
)


def filter_command(
    input: Annotated[str, typer.Argument(metavar="INPUT", help="Mined pairs (cltool mine output): dataset "
                                         "directory, Parquet file, glob, or -.")],
    output: OutputOpt,
    judge: Annotated[list[str] | None, typer.Option("--judge", metavar="JUDGE", help="cross-encoder:MODEL, "
                                                    "bi-encoder[:MODEL], paraphrase[:MODEL], lexical, "
                                                    "duplicate-cluster; repeatable (default: lexical and "
                                                    "duplicate-cluster, the signals mine does not use).")] = None,
    vote: Annotated[str, typer.Option("--vote", help="A negative is false when any, all, or this many judges "
                                      "flag it.")] = "any",
    ratio: Annotated[float, typer.Option("--ratio", help="cross-encoder, bi-encoder: false when the negative "
                                         "scores at least this share of the lowest positive's score "
                                         "(sign-safe: pos - |pos| x (1 - ratio)).")] = 0.95,
    max_score: Annotated[str | None, typer.Option("--max-score", help="cross-encoder: false at or above this "
                                                  "score too.")] = None,
    paraphrase_threshold: Annotated[str, typer.Option("--paraphrase-threshold", help="paraphrase: false when "
                                                      "the negative's cosine with a positive reaches this; auto "
                                                      "(the default): the cosine that only 1% of random (positive, "
                                                      "negative) pairs of the input reach under the judge's "
                                                      "model.")] = "auto",
    lexical_threshold: Annotated[float, typer.Option("--lexical-threshold", help="lexical: false when the word "
                                                     "sets' Jaccard with a positive reaches this.")] = 0.9,
    cluster_threshold: Annotated[float, typer.Option("--cluster-threshold", help="duplicate-cluster: MinHash "
                                                     "Jaccard that makes two texts one cluster.")] = 0.8,
    cluster_ngram: Annotated[int, typer.Option("--cluster-ngram", min=1, help="duplicate-cluster: words per "
                                               "shingle.")] = 5,
    clusters_from: Annotated[str | None, typer.Option("--clusters-from", metavar="DEDUP_OUTPUT", help="duplicate-"
                                                      "cluster: read the clusters from a cltool dedup output "
                                                      "instead.")] = None,
    clusters: Annotated[str | None, typer.Option("--clusters", metavar="DEDUP_OUTPUT", hidden=True,
                                                 help="Deprecated: --clusters-from.")] = None,
    min_negatives: Annotated[int, typer.Option("--min-negatives", help="Anchors left with fewer are refilled from "
                                               "--candidates, or their rows go to OUT.rejected.")] = 0,
    candidates: Annotated[str | None, typer.Option("--candidates", metavar="DIR", help="Saved candidates (cltool "
                                                   "mine --save-candidates) to refill from.")] = None,
    pair_judge: Annotated[list[str] | None, typer.Option("--pair-judge", metavar="PAIR_JUDGE", help="Also judge "
                                                         "each row's pair: consistency, anchor-consistency, "
                                                         "score-outlier, each [:MODEL] (default: the input's "
                                                         "embeddings); repeatable; rows found mismatched go to "
                                                         "OUT.rejected (default: none).")] = None,
    pair_vote: Annotated[str, typer.Option("--pair-vote", help="A pair is mismatched when any, all, or this many "
                                           "pair judges flag it.")] = "all",
    mismatch_share: Annotated[float, typer.Option("--mismatch-share", help="A pair judge flags a row when more "
                                                  "than this share of its mismatched pairings (other positives "
                                                  "for its anchor, ...) outscore its own pair.")] = 0.05,
    batch_size: BatchSizeOpt = 32,
    device: DeviceOpt = "cpu",
    seed: seed_option("MinHash permutations") = 1,
    rejected: RejectedOpt = None,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    """Remove false negatives: mined negatives that independent judges say are really positives.

    Each removed negative is kept in OUT.rejected.negatives with the judges that flagged it and
    their scores. With a cross-encoder, negative_ce_scores and positive_ce_score are added for
    distillation. With --pair-judge, rows whose positive does not answer their anchor go to
    OUT.rejected (mismatched_pair), and every row keeps each pair judge's share. Models are loaded
    offline only.
    """
    from cltool.filter import Settings, filter_negatives

    settings = Settings(judges=tuple(judge or Settings.judges), vote=vote, ratio=ratio,
                        max_score=optional_number(max_score, "--max-score"),
                        paraphrase_threshold=threshold_option(paraphrase_threshold, "--paraphrase-threshold"),
                        lexical_threshold=lexical_threshold,
                        cluster_threshold=cluster_threshold, cluster_ngram=cluster_ngram,
                        clusters_from=deprecated_alias("--clusters", "--clusters-from", clusters, clusters_from),
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

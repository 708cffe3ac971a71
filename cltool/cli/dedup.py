"""`cltool dedup`: parse options, call `cltool.dedup.dedup`, report."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cltool.cli.common import (
    EngineOpt,
    Json,
    Quiet,
    RayAddressOpt,
    RejectedOpt,
    RichReporter,
    example,
    report_step,
    run_step,
    seed_option,
)
from cltool.cli.strategies import choices_help, strategy_options
from cltool.dedup.methods import METHODS
from cltool.dedup.settings import Settings

EPILOG = example(
    "cltool dedup data/pairs -o data/dedup                       # exact + minhash on the positive",
    "cltool dedup data/embedded --method exact,minhash,semantic,entropy --on anchor,positive -o data/dedup",
    "cltool dedup data/embedded --method semantic --dry-run --eps 0.01,0.03,0.05",
    "cltool dedup data/new --against data/eval --method exact,minhash -o data/decontaminated",
    "cltool dedup data/embedded --method minhash,semantic --engine ray -o data/dedup   # sketches, clusters on Ray",
)


def _split(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


@strategy_options(METHODS, into="method_options", panel="Method options")
def dedup_command(
    input: Annotated[str, typer.Argument(metavar="INPUT", help="Dataset directory, Parquet file or glob.")],
    output: Annotated[str | None, typer.Option("--output", "-o", metavar="DIR|-", help="Output dataset (or - for "
                                               "stdout); not needed with --dry-run.")] = None,
    method: Annotated[str, typer.Option("--method", help=choices_help(
        METHODS, "Comma-separated, applied in this order"))] = ",".join(Settings.methods),
    on: Annotated[str | None, typer.Option("--on", help="Column(s) that make two rows duplicates (default positive, "
                                           "or text for a corpus), e.g. anchor,positive.")] = None,
    against: Annotated[str | None, typer.Option("--against", metavar="REF", help="Remove only rows that duplicate a "
                                                "row of REF (incremental dedup, decontamination).")] = None,
    seed: seed_option("minhash permutations and k-means") = Settings.seed,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what each method would remove; write "
                                          "nothing.")] = False,
    engine: EngineOpt = None,
    ray_address: RayAddressOpt = None,
    rejected: RejectedOpt = None,
    json_out: Json = False,
    quiet: Quiet = False,
    method_options: dict[str, Any] | None = None,
) -> None:
    """Remove exact duplicates (normalised hash), near-duplicates (MinHash + LSH, every candidate
    verified by its true Jaccard), semantic duplicates (SemDeDup: k-means, then cosine with the rows
    of the nearest clusters) and low-information texts (token entropy, compression ratio).

    Every removed row goes to OUT.rejected with its reason, duplicate_of (the id of the row kept)
    and the similarity. The row kept is the first in input order (semantic: by --keep).
    """
    from cltool.dedup import dedup

    settings = Settings(methods=_split(method), on=_split(on) if on else None, method_options=method_options or {},
                        seed=seed, engine=engine, ray_address=ray_address, dry_run=dry_run)

    def report(result: dict[str, Any], reporter: RichReporter) -> None:
        if not dry_run:
            report_step("dedup", result, output, reporter)
            return
        fractions = ", ".join(f"{r} {f:.2%}" for r, f in result["removed_fraction"].items()) or "nothing"
        reporter.info(f"dedup --dry-run over {result['rows']:,} rows would remove: {fractions}")
        by_eps = result["summary"].get("semantic", {}).get("removed_fraction_by_eps", {})
        for value, fraction in by_eps.items():
            reporter.info(f"  semantic eps {value}: {fraction:.2%}")

    run_step("dedup", dedup, input, output, settings, json_out=json_out, quiet=quiet, rejected=rejected,
             report=report, against=against)

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

EPILOG = example(
    "cltool dedup data/pairs -o data/dedup                       # exact + minhash on the positive",
    "cltool dedup data/embedded --method exact,minhash,semantic,entropy --on anchor,positive -o data/dedup",
    "cltool dedup data/embedded --method semantic --dry-run --eps 0.01,0.03,0.05",
    "cltool dedup data/new --against data/eval --method exact,minhash -o data/decontaminated",
    "cltool dedup data/embedded --method minhash,semantic --engine ray -o data/dedup   # sketches, clusters on Ray",
)


def _split(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


def dedup_command(
    input: Annotated[str, typer.Argument(metavar="INPUT", help="Dataset directory, Parquet file or glob.")],
    output: Annotated[str | None, typer.Option("--output", "-o", metavar="DIR|-", help="Output dataset (or - for "
                                               "stdout); not needed with --dry-run.")] = None,
    # the methods are cltool.dedup.methods' registry, in run order; named here (a test keeps them in step)
    # so that start-up does not import the library
    method: Annotated[str, typer.Option("--method", help="Comma-separated, applied in this order: exact, minhash, "
                                        "semantic, entropy.")] = "exact,minhash",
    on: Annotated[str | None, typer.Option("--on", help="Column(s) that make two rows duplicates (default positive, "
                                           "or text for a corpus), e.g. anchor,positive.")] = None,
    against: Annotated[str | None, typer.Option("--against", metavar="REF", help="Remove only rows that duplicate a "
                                                "row of REF (incremental dedup, decontamination).")] = None,
    threshold: Annotated[float, typer.Option("--threshold", help="minhash: Jaccard similarity that makes a "
                                             "near-duplicate.")] = 0.8,
    ngram: Annotated[int, typer.Option("--ngram", help="minhash: n-gram size (words, or characters with "
                                       "--char-ngrams).")] = 5,
    char_ngrams: Annotated[bool, typer.Option("--char-ngrams", help="minhash: character n-grams instead of "
                                              "words.")] = False,
    num_perm: Annotated[int, typer.Option("--num-perm", help="minhash: permutations.")] = 128,
    bands: Annotated[int | None, typer.Option("--bands", help="minhash: LSH bands (default: from "
                                              "--threshold).")] = None,
    rows: Annotated[int | None, typer.Option("--rows", help="minhash: LSH rows per band.")] = None,
    seed: seed_option("minhash permutations and k-means") = 1,
    eps: Annotated[str, typer.Option("--eps", help="semantic: duplicates where cosine >= 1 - eps; several values "
                                     "with --dry-run.")] = "0.05",
    clusters: Annotated[int | None, typer.Option("--clusters", help="semantic: k-means clusters (default "
                                                 "sqrt(rows)).")] = None,
    probes: Annotated[int, typer.Option("--probes", help="semantic: compare each row with the rows of its N nearest "
                                        "clusters (1: its own only, SemDeDup's way; misses pairs across a cluster "
                                        "border).")] = 6,
    keep: Annotated[str, typer.Option("--keep", help="semantic: which member of a duplicate group stays: farthest "
                                      "(from the centroid), first, centroid, longest.")] = "farthest",
    normalize: Annotated[str, typer.Option("--normalize", help="exact and minhash: nfkc, case, whitespace, "
                                           "punctuation, or none.")] = "nfkc,case,whitespace",
    min_entropy: Annotated[float, typer.Option("--min-entropy", help="entropy: token entropy in bits below which a "
                                               "text is low-information.")] = 1.0,
    min_compression_ratio: Annotated[float, typer.Option("--min-compression-ratio", help="entropy: zlib ratio below "
                                                         "which a text (128 bytes or more) is repetitive.")] = 0.2,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what each method would remove; write "
                                          "nothing.")] = False,
    engine: EngineOpt = None,
    ray_address: RayAddressOpt = None,
    rejected: RejectedOpt = None,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    """Remove exact duplicates (normalised hash), near-duplicates (MinHash + LSH, every candidate
    verified by its true Jaccard), semantic duplicates (SemDeDup: k-means, then cosine with the rows
    of the nearest clusters) and low-information texts (token entropy, compression ratio).

    Every removed row goes to OUT.rejected with its reason, duplicate_of (the id of the row kept)
    and the similarity. The row kept is the first in input order (semantic: by --keep).
    """
    from cltool.dedup import Settings, dedup
    from cltool.dedup.text import parse_normalization
    from cltool.errors import UsageError

    try:
        eps_values = tuple(float(e) for e in _split(eps))
    except ValueError:
        raise UsageError(f"--eps takes numbers, e.g. 0.05 or 0.01,0.03,0.05; got {eps!r}") from None
    settings = Settings(methods=_split(method), on=_split(on) if on else None, threshold=threshold, ngram=ngram,
                        char_ngrams=char_ngrams, num_perm=num_perm, seed=seed, bands=bands, rows=rows, eps=eps_values,
                        clusters=clusters, probes=probes, keep=keep, normalization=parse_normalization(normalize),
                        min_entropy=min_entropy, min_compression_ratio=min_compression_ratio, engine=engine,
                        ray_address=ray_address, dry_run=dry_run)

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

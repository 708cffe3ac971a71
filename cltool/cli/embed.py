"""`cltool embed`: parse options, call `cltool.embed.embed`, report."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cltool.cli.common import (
    BatchSizeOpt,
    DeviceOpt,
    EngineOpt,
    Json,
    OutputOpt,
    Quiet,
    RayAddressOpt,
    RejectedOpt,
    RichReporter,
    example,
    report_step,
    run_step,
)

EPILOG = example(
    "cltool embed data/pairs -o data/embedded",
    "cltool embed data/corpus --columns text --precision float16 -o data/corpus-embedded",
    "cltool embed data/pairs --model static -o data/embedded-fast   # distilled static model, ~100x faster",
    "cltool embed data/pairs --model openvino -o data/embedded   # the default model run by OpenVINO, ~2x faster",
    "cltool ingest pairs.jsonl -o - | cltool embed - -o data/embedded --rejected data/rejected",
)


def embed_command(
    input: Annotated[str, typer.Argument(metavar="INPUT", help="Dataset directory, Parquet file, glob, or -.")],
    output: OutputOpt,
    columns: Annotated[str | None, typer.Option("--columns", help="Comma-separated text columns "
                                                "(default: anchor,positive, or text for a corpus).")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", envvar="CLTOOL_MODEL", help="default (bundled "
                                              "all-MiniLM-L6-v2), static (distilled, fast), openvino (the same model "
                                              "run by OpenVINO: ~2x on a CPU, cosine >= 0.9999 to torch's), "
                                              "static:MODEL or openvino:MODEL, a model folder, or a Hub name already "
                                              "in the local cache.")] = None,
    backend: Annotated[str | None, typer.Option("--backend", envvar="CLTOOL_BACKEND", help="auto (OpenVINO in bf16 "
                                                "where the CPU has native bf16 and a one-time probe matches torch "
                                                "float32 at cosine >= 0.9999, else torch), torch (float32) or "
                                                "openvino.")] = None,
    batch_size: BatchSizeOpt = 32,
    device: DeviceOpt = "cpu",
    precision: Annotated[str, typer.Option("--precision", help="float32 or float16 (storage; the model runs in "
                                           "float32).")] = "float32",
    query_prompt: Annotated[str | None, typer.Option("--query-prompt", help="Prefix for anchor texts (default: the "
                                                     "model's 'query' prompt, if it has one).")] = None,
    document_prompt: Annotated[str | None, typer.Option("--document-prompt", help="Prefix for every other column "
                                                        "(default: the model's 'document' prompt).")] = None,
    normalize: Annotated[bool, typer.Option("--normalize/--no-normalize", help="Unit-length vectors, so that dot "
                                            "product is cosine.")] = True,
    max_seq_length: Annotated[int | None, typer.Option("--max-seq-length", min=1, help="Truncate texts to this many "
                                                       "tokens (default: the model's).")] = None,
    cache: Annotated[bool, typer.Option("--cache/--no-cache", help="Reuse embeddings from the cache in "
                                        "CLTOOL_CACHE_DIR (default ~/.cache/cltool).")] = True,
    engine: EngineOpt = None,
    ray_address: RayAddressOpt = None,
    rejected: RejectedOpt = None,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    """Add a COLUMN_embedding column (fixed-size list of float32 or float16) for each chosen text
    column, with a sentence-transformers model loaded offline.

    Embeddings are cached by model fingerprint, prompt and text, so a re-run embeds only new texts,
    and a text that occurs many times is embedded once. Rows whose chosen text is null or blank go to
    OUT.rejected with reason empty_text. The model, its weight fingerprint, dimension, prompts and
    normalisation are written into the manifest and the column's metadata.
    """
    from cltool.embed import Settings, embed

    chosen = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    settings = Settings(columns=chosen, model=model, backend=backend, batch_size=batch_size, device=device, precision=precision,
                        query_prompt=query_prompt, document_prompt=document_prompt, normalize=normalize,
                        max_seq_length=max_seq_length, cache=cache, engine=engine, ray_address=ray_address)
    run_step("embed", embed, input, output, settings, json_out=json_out, quiet=quiet, rejected=rejected,
             report=lambda manifest, reporter: _report(manifest, output, reporter))


def _report(manifest: dict[str, Any], output: str, reporter: RichReporter) -> None:
    summary = manifest["summary"]
    report_step("embed", manifest, output, reporter)
    reporter.info(f"  {summary['texts']:,} texts: {summary['cache_hits']:,} from the cache, {summary['encoded']:,} "
                  f"encoded" + (f" at {summary['texts_per_second']:,.0f}/s" if summary["texts_per_second"] else "")
                  + f"; model {manifest['params']['model_id']}, {manifest['params']['dimension']} dimensions")

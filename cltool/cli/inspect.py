"""`cltool inspect`: parse options, call `cltool.inspect.inspect_dataset`, show the result."""

from __future__ import annotations

import shlex
from typing import Annotated, Any

import typer

from cltool.cli.common import Json, Quiet, example, print_json, stderr

EPILOG = example(
    "cltool inspect data/pairs",
    "cltool inspect data/pairs --head 3 --json | jq '.rows'",
    "cltool inspect out/train.jsonl                 # an emitted file: format, negatives per pair, its manifest",
)


def inspect_command(
    dataset: Annotated[str, typer.Argument(metavar="DATASET", help="Dataset directory, Parquet file, glob, -, or a "
                                           "training file cltool emit wrote (.jsonl, .jsonl.gz, .parquet).")],
    head: Annotated[int, typer.Option("--head", "-n", min=0, help="Also show the first N rows.")] = 0,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    """Show what a dataset is: schema, rows, files, how it was made (the manifest), and the rows
    its step rejected, by reason. The human view goes to stderr; --json prints it on stdout."""
    from cltool.inspect import inspect_dataset

    info = inspect_dataset(dataset, head=head)
    if json_out:
        print_json(info)
    elif not quiet:
        _show(info)


_COUNTED = ("rows_without_negatives", "anchors_without_negatives", "rows_hardest_negative_above_positive",
            "anchors_hardest_negative_above_positive", "anchors_with_positive_score", "anchors")


def _show_emit_manifest(info: dict[str, Any]) -> None:
    manifest = info["manifest"]
    made_by = " -> ".join(str(c) for c in info["lineage"] if c)
    stderr.print(f"\nmade by: {made_by} (cltool {manifest.get('cltool_version')}, "
                 f"{manifest.get('wall_time_s')}s; {info['manifest_path']})", markup=False)
    if manifest.get("argv"):
        stderr.print(f"command: {shlex.join(manifest['argv'])}", markup=False)
    rows = manifest.get("rows", {})
    stderr.print(f"rows: {rows.get('input', 0):,} pairs in = {rows.get('emitted', 0):,} emitted + "
                 f"{rows.get('pairs_file', 0):,} to a pairs file + {rows.get('rejected', 0):,} rejected", markup=False)
    for key, value in manifest.get("summary", {}).items():
        if not isinstance(value, (dict, list)):
            stderr.print(f"  {key}: {value}", markup=False)


def _show(info: dict[str, Any]) -> None:
    from rich.table import Table

    size = f", {info['bytes'] / 1e6:,.1f} MB" if info.get("bytes") else ""
    training = info.get("training_file")
    if training:
        anchors = info.get("scores", {}).get("anchors")
        stderr.print(f"[bold]{info['source']}[/]: a training file, {training['format']}: {info['rows']:,} lines{size}; "
                     f"read as {training['pairs']:,} (anchor, positive) pairs"
                     + (f" of {anchors:,} anchors" if anchors is not None else ""))
    else:
        stderr.print(f"[bold]{info['source']}[/]: {info['rows']:,} rows in {info['files']} file(s){size}")
    schema = Table("column", "type", box=None, pad_edge=False)
    for field in info["schema"]:
        schema.add_row(field["name"], field["type"])
    stderr.print(schema)
    if training:
        stderr.print("read as: " + ", ".join(f"{k} <- {v}" for k, v in training["read_as"].items()), markup=False)
        for note in training["notes"]:
            stderr.print(f"note: {note}", markup=False)
    if training and info.get("manifest"):
        _show_emit_manifest(info)
    elif training:
        stderr.print("no emit manifest beside it lists this file")
    for column, made in info.get("embeddings", {}).items():
        stderr.print(f"{column}: {made['model_id']} ({made['model_kind']}), {made['dimension']} dims, {made['precision']}, "
                     f"normalize={made['normalize']}, prompt={made['prompt']!r}, weights {made['model_fingerprint'][:12]}",
                     markup=False)
    manifest = info.get("manifest") if not training else None
    if manifest:
        stderr.print(f"\nmade by: {' -> '.join(c for c in info['lineage'] if c)} "
                     f"(cltool {manifest.get('cltool_version')}, {manifest.get('created_at')}, {manifest.get('wall_time_s')}s)")
        if manifest.get("argv"):
            # quoted as a shell reads it back: --query-prompt 'query: ' stays one argument
            stderr.print(f"command: {shlex.join(manifest['argv'])}", markup=False)
        rows = manifest.get("rows", {})
        check = "" if info.get("rows_add_up", True) else "  [red](does not add up)[/]"
        stderr.print(f"rows: {rows.get('input', 0):,} in = {rows.get('output', 0):,} kept + {rows.get('rejected', 0):,} rejected{check}")
        for key, value in manifest.get("summary", {}).items():
            if not isinstance(value, (dict, list)):
                stderr.print(f"  {key}: {value}", markup=False)
        from cltool.calibration import describe_lines, manifest_calibration

        calibration = describe_lines(manifest_calibration(manifest))
        if calibration:
            stderr.print("thresholds read off the data:")
            for line in calibration:
                stderr.print(f"  {line}", markup=False)
    scores = info.get("scores")
    if scores:
        stderr.print("\nscores:")
        for name, stats in scores.items():
            if isinstance(stats, dict):
                stderr.print(f"  {name}: median {stats['median']:.4g} (p5 {stats['p5']:.4g}, p95 {stats['p95']:.4g}, "
                             f"min {stats['min']:.4g}, max {stats['max']:.4g}; {stats['count']:,} values)", markup=False)
            elif name in _COUNTED:
                continue
            elif stats is not None:
                stderr.print(f"  {name}: {stats:,}", markup=False)
        if "rows_without_negatives" in scores:  # counted as validate's negatives_per_anchor (--limit min_negatives=1)
            stderr.print(f"  without negatives: {scores['rows_without_negatives']:,} rows, "
                         f"{scores['anchors_without_negatives']:,} anchors", markup=False)
        if "rows_hardest_negative_above_positive" in scores:  # as validate's score_sanity counts them
            stderr.print(f"  hardest negative above the anchor's lowest positive: "
                         f"{scores['anchors_hardest_negative_above_positive']:,} of "
                         f"{scores['anchors_with_positive_score']:,} anchors "
                         f"({scores['rows_hardest_negative_above_positive']:,} rows)", markup=False)
    rejected = info.get("rejected")
    if rejected and "error" in rejected:
        stderr.print(f"[yellow]warning:[/] rejected rows unreadable: {rejected['error']}")
    elif rejected:
        reasons = ", ".join(f"{r} {n:,}" for r, n in rejected["by_reason"].items()) or "none"
        stderr.print(f"rejected: {rejected['rows']:,} rows in {rejected['path']} ({reasons})", markup=False)
    for i, row in enumerate(info.get("head", [])):
        stderr.print(f"\n[bold]row {i}[/]")
        for key, value in row.items():
            text = repr(value)
            stderr.print(f"  {key}: {text[:200] + '...' if len(text) > 200 else text}", markup=False)

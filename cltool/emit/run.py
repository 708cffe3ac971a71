"""`emit`: read mined pairs, select the rows and their negatives, and write each split's training
file (and its hardness and pairs files), the rejected rows, and the manifest."""

from __future__ import annotations

import time
from pathlib import Path
from collections import Counter
from typing import Any

import numpy as np
import pyarrow as pa

from cltool import __version__
from cltool.dataset.pairs import match_keys
from cltool.dataset.read import Dataset
from cltool.dataset.write import Output, with_rejection
from cltool.emit.files import StagedFiles
from cltool.emit.fill import short_cause
from cltool.emit.formats import FORMATS, LineTexts
from cltool.emit.hardness import hardness_table
from cltool.emit.paths import hardness_path, legacy_manifest, manifest_paths, output_extension, sidecar, split_path
from cltool.emit.read import Rows, mined_num_negatives, read_rows
from cltool.emit.select import Selection, select
from cltool.emit.settings import TRAIN, Settings
from cltool.emit.split import assign_splits, groups, leaks
from cltool.errors import InputError, UsageError
from cltool.step import Run, prepare, require_rows


def emit(input: str | pa.Table, output: str, settings: Settings | None = None,
         run: Run | None = None) -> dict[str, Any]:
    """Write the training files for `input`; returns the manifest (also written beside the files)."""
    settings, run = prepare(settings, Settings, run)
    fmt = FORMATS[settings.format]
    to_stdout = output == "-"
    if not to_stdout:
        output_extension(output)  # an unknown extension is an error before anything is read
    if to_stdout and (settings.split or settings.short == "pairs"):
        raise UsageError("stdout holds one JSONL file: --split and --short pairs write several",
                         hint="write to a file with -o PATH.jsonl")
    if to_stdout and settings.include_scores:
        run.reporter.warn("--include-scores with -o -: the label scores go to stdout, the hardness file (ranks and "
                          "judge scores) is written only beside a file")
    with run.stage("read"):
        dataset = run.open(input)
        table, rows = read_rows(dataset)
    require_rows(dataset, len(rows.anchors))
    n = settings.num_negatives or mined_num_negatives(dataset) or max((len(x) for x in rows.negatives), default=0)
    if n == 0 and fmt.fixed_negatives:
        raise InputError(f"no row of {dataset.source} has a negative, and --num-negatives was not given",
                         hint="mine negatives first, or give --num-negatives N to fill from other anchors' positives")
    if fmt.fixed_negatives and n > 1:
        texts = len(set(match_keys(rows.positives)) | {k for row in rows.negatives for k in match_keys(row)})
        if n >= texts:  # fill could never reach n: every row would be rejected, after work that scales with n
            raise UsageError(f"--num-negatives {n:,} is more than the {texts - 1:,} other texts any anchor could "
                             f"have as negatives in {dataset.source}", hint="ask for fewer negatives")
    with run.stage("select"):
        selection = select(table, rows, fmt, n, settings)
        if selection.summary.get("rows_short"):
            selection.summary["short_cause"] = short_cause(dataset, rows, n)
    split_of = np.zeros(len(rows.anchors), dtype=np.int64)
    with run.stage("split"):
        if settings.split:
            split_of = assign_splits(groups(rows), settings.split, settings.seed)
        split_leaks = leaks(rows, split_of, selection.usable) if settings.split else 0

    manifests = [] if to_stdout else manifest_paths(output, [TRAIN, *settings.split] if settings.split else None)
    with StagedFiles(run.stdout, manifests[0] if manifests else None) as files:
        with run.stage("write"):
            _write_splits(files, rows, selection, split_of, output, n, settings)
        usable, left_out, to_pairs = selection.usable, selection.left_out, selection.to_pairs
        with run.stage("finish"):  # the inputs' checksums
            inputs = [{"source": dataset.source, "files": dataset.describe_inputs()}]
        manifest = {
            "format": "cltool-emit/1",
            "cltool_version": __version__,
            "command": "emit",
            "argv": list(run.argv) if run.argv is not None else None,
            "params": {**vars(settings), "num_negatives": n},
            "inputs": inputs,
            "outputs": files.outputs,
            "rows": {"input": len(rows.anchors), "emitted": int((usable & ~to_pairs).sum()),
                     "pairs_file": int((usable & to_pairs).sum()), "rejected": int(left_out.sum())},
            "rejected_by_reason": dict(sorted(Counter(r for r in selection.reasons if r is not None).items())),
            "summary": {**selection.summary,
                        "splits": {f["split"]: f["pairs"] for f in files.outputs if "role" not in f},
                        "split_leaks": split_leaks},
        }
        if left_out.any():
            with run.stage("write rejected"):
                _write_rejected(table, selection, dataset, manifest, output, run)
        manifest["stages"] = run.stages.times
        manifest["wall_time_s"] = round(time.perf_counter() - run.started, 3)
        if manifests:
            manifest["manifests"] = [str(p) for p in manifests]  # each file's, all alike
        files.commit(manifest, manifests)
    if settings.split and not to_stdout:
        _remove_legacy_manifest(output, manifests)
    if manifests:
        manifest["manifest_path"] = str(manifests[0])
    return manifest


def _remove_legacy_manifest(output: str, manifests: list) -> None:
    """The one manifest an earlier emit wrote for split files describes files just replaced: gone."""
    import json

    legacy = legacy_manifest(output)
    if legacy in manifests or not legacy.is_file():
        return
    try:
        old = json.loads(legacy.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    # an emit's own manifest of a file still there (`-o out.jsonl` before `-o out.jsonl --split`) stays
    stale = (isinstance(old, dict) and old.get("format") == "cltool-emit/1" and "manifests" not in old
             and any(entry.get("split") not in (None, TRAIN) for entry in old.get("outputs", [])))
    if stale:
        legacy.unlink(missing_ok=True)


def _write_splits(files: StagedFiles, rows: Rows, selection: Selection, split_of: np.ndarray, output: str, n: int,
                  settings: Settings) -> None:
    """Per split: the training file, its hardness file (--include-scores) and its pairs file (--short pairs)."""
    fmt = FORMATS[settings.format]
    to_stdout = output == "-"
    for s, name in enumerate([TRAIN, *settings.split]):
        chosen = selection.rows_of(split_of, s, pairs_file=False)
        split = name if settings.split else None
        target = None if to_stdout else split_path(output, split)
        lines = fmt.lines(rows, chosen, selection.negatives)
        texts = LineTexts.of(rows, lines, selection.negatives, selection.scores)
        files.write(fmt.table(texts, n, settings.include_scores, settings.prompt), target,
                    split=name, pairs=int(len(chosen)))
        if settings.include_scores and target is not None:
            files.write(hardness_table(rows, lines), hardness_path(target), split=name, role="hardness",
                        pairs=int(len(chosen)))
        paired = selection.rows_of(split_of, s, pairs_file=True)
        if len(paired):
            pairs_table = pa.table({"anchor": [rows.anchors[i] for i in paired.tolist()],
                                    "positive": [rows.positives[i] for i in paired.tolist()]})
            files.write(pairs_table, split_path(output, f"{name}-pairs" if split else "pairs"),
                        split=f"{name}-pairs", pairs=int(len(paired)))


def _write_rejected(table: pa.Table, selection: Selection, dataset: Dataset, manifest: dict[str, Any], output: str,
                    run: Run) -> None:
    """The rows not emitted, with their reasons, as a dataset: --rejected, or OUT.rejected beside the file."""
    left_out = selection.left_out
    target = run.rejected or (None if output == "-" else str(sidecar(output, "rejected")))
    if target is None:
        run.reporter.warn(f"{int(left_out.sum()):,} rows were not emitted and not kept: with -o - add --rejected DIR")
        return
    reasons = [r for r in selection.reasons if r is not None]
    details = [d for r, d in zip(selection.reasons, selection.details) if r is not None]
    # not run.output: that would send rejected rows to --rejected, which here is this very dataset
    with Output(target, command="emit", params=manifest["params"], inputs=[dataset], argv=run.argv,
                keeps_rejected=False) as out:
        out.write(with_rejection(table.filter(pa.array(left_out)), reason=reasons, detail=details))
    manifest["rejected_dataset"] = str(Path(target).resolve())  # read from anywhere (validate, inspect)


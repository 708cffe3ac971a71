"""`cltool inspect`: what a dataset is — schema, rows, files, the manifest's story, rejected rows.

Reads Parquet footers and manifests, and of the data only `--head` rows, the `reason` column of
`OUT.rejected` and, for a mined table, its score columns (never the texts).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import IO, Any

from cltool.dataset.manifest import rejected_path
from cltool.dataset.pairs import (
    JUDGE_SCORE_COLUMNS,
    NEGATIVE_SCORES,
    POSITIVE_CE_SCORE,
    POSITIVE_SCORE,
    embedding_info,
)
from cltool.dataset.read import open_dataset
from cltool.errors import InputError

_MANIFEST_KEYS = ("command", "cltool_version", "created_at", "argv", "params", "rows", "rejected_by_reason",
                  "summary", "stages", "wall_time_s")


def inspect_dataset(spec: str, head: int = 0, stdin: IO[bytes] | None = None) -> dict[str, Any]:
    dataset = open_dataset(spec, stdin=stdin)
    info: dict[str, Any] = {
        "source": dataset.source,
        "schema": [{"name": f.name, "type": str(f.type)} for f in dataset.schema],
    }
    embeddings = {f.name: made for f in dataset.schema if (made := embedding_info(f))}
    if embeddings:
        info["embeddings"] = embeddings
    if dataset.is_stream:
        rows_seen: list[dict[str, Any]] = []
        for batch in dataset.batches():
            if len(rows_seen) < head:
                rows_seen += batch.slice(0, head - len(rows_seen)).to_pylist()
        info.update(rows=dataset.num_rows, files=0, bytes=None)
        if head:
            info["head"] = rows_seen
        return info

    info.update(rows=dataset.num_rows, files=len(dataset.files), bytes=sum(f.bytes for f in dataset.files))
    scores = score_statistics(dataset)
    if scores:
        info["scores"] = scores
    if head:
        rows: list[dict[str, Any]] = []
        for batch in dataset.batches(batch_rows=max(head, 1)):
            rows += batch.slice(0, head - len(rows)).to_pylist()
            if len(rows) >= head:
                break
        info["head"] = rows
    manifest = dataset.manifest
    if manifest is not None:
        info["manifest"] = {k: manifest[k] for k in _MANIFEST_KEYS if k in manifest}
        info["lineage"] = [step.get("command") for step in manifest.get("lineage", [])] + [manifest.get("command")]
        counts = manifest.get("rows", {})
        if {"input", "output", "rejected"} <= counts.keys():
            info["rows_add_up"] = counts["input"] == counts["output"] + counts["rejected"]
        rejected = rejected_path(dataset.source, manifest)
        if rejected is not None:
            info["rejected"] = _rejected_reasons(rejected)
    return info


# mine's scores, then filter's judges' (the cross-encoder's of the positive too)
SCORE_COLUMNS = (POSITIVE_SCORE, NEGATIVE_SCORES, POSITIVE_CE_SCORE, *JUDGE_SCORE_COLUMNS.values())
# the negatives' lists run in parallel (DESIGN); the lightest one present gives negatives per row
_COUNT_COLUMNS = ("negative_scores", "negative_ids", "negatives")


def score_statistics(dataset) -> dict[str, Any] | None:
    """For a mined table: the distributions of the positive and negative scores (and cross-encoder
    scores), negatives per row, and the number of rows whose hardest negative outscores that row's
    positive (validate's score_sanity judges the same per anchor, as a share). Reads only those
    columns, and only those of the expected types."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from cltool.mine import distribution

    def numeric(t: pa.DataType) -> bool:
        return pa.types.is_floating(t) or pa.types.is_integer(t)

    def listed(t: pa.DataType) -> bool:
        return pa.types.is_list(t) or pa.types.is_large_list(t)

    schema = dataset.schema
    scores = [c for c in SCORE_COLUMNS if c in schema.names and (
        listed(schema.field(c).type) and numeric(schema.field(c).type.value_type) if c.startswith("negative")
        else numeric(schema.field(c).type))]
    count = next((c for c in _COUNT_COLUMNS if c in schema.names and listed(schema.field(c).type)), None)
    if count is None:
        return None
    columns = list(dict.fromkeys([*scores, count]))
    parts: dict[str, list[np.ndarray]] = {c: [] for c in scores}
    per_row, above = [], []
    for batch in dataset.batches(columns=columns):
        for c in scores:
            values = batch.column(c)
            flat = pc.list_flatten(values) if c.startswith("negative") else values
            parts[c].append(flat.to_numpy(zero_copy_only=False).astype(np.float64))  # nulls become NaN
        per_row.append(pc.list_value_length(batch.column(count)).fill_null(0).to_numpy(zero_copy_only=False))
        if "negative_scores" in scores and "positive_score" in scores:
            lengths = pc.list_value_length(batch.column("negative_scores")).fill_null(0).to_numpy(zero_copy_only=False)
            top = np.full(len(lengths), np.nan)
            has = lengths > 0
            if has.any():  # the row maxima of the flattened lists; fmax skips null scores
                starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
                top[has] = np.fmax.reduceat(parts["negative_scores"][-1], starts[has])
            above.append(top > parts["positive_score"][-1])
    out: dict[str, Any] = {c: distribution(np.concatenate(parts[c])) for c in scores if parts[c]}
    if per_row:
        out["negatives_per_row"] = distribution(np.concatenate(per_row).astype(np.float64))
    if above:
        out["rows_hardest_negative_above_positive"] = int(np.concatenate(above).sum())
    return out


def _rejected_reasons(path: Path) -> dict[str, Any]:
    try:
        rejected = open_dataset(path)
    except InputError as exc:  # moved or deleted since: say so, and still describe the dataset itself
        return {"path": str(path), "error": exc.message}
    reasons: Counter[str] = Counter()
    if "reason" in rejected.schema.names:
        for batch in rejected.batches(columns=["reason"]):
            reasons.update(batch.column(0).to_pylist())
    return {"path": str(path), "rows": rejected.num_rows,
            "by_reason": dict(sorted(reasons.items()))}


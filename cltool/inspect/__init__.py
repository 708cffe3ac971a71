"""`cltool inspect`: what a dataset is — schema, rows, files, the manifest's story, rejected rows.

Reads Parquet footers and manifests, not the data (except `--head` rows, and the `reason` column
of `_rejected`), so it answers at once on large datasets.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import IO, Any

from cltool.dataset.pairs import embedding_info
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
        rejected_path = manifest.get("rejected_dataset")
        if rejected_path is not None:
            info["rejected"] = _rejected_reasons(Path(dataset.source) / rejected_path)
    return info


SCORE_COLUMNS = ("positive_score", "negative_scores", "positive_ce_score", "negative_ce_scores")


def score_statistics(dataset) -> dict[str, Any] | None:
    """For a mined table: the distributions of the positive and negative scores (and cross-encoder
    scores), negatives per row, and the share of rows whose hardest negative outscores the positive.
    Reads only those columns."""
    import numpy as np
    import pyarrow.compute as pc

    from cltool.mine import distribution

    columns = [c for c in (*SCORE_COLUMNS, "negatives") if c in dataset.schema.names]
    if "negative_scores" not in columns and "negatives" not in columns:
        return None
    parts: dict[str, list[np.ndarray]] = {c: [] for c in columns}
    per_row, above = [], []
    for batch in dataset.batches(columns=columns):
        for c in columns:
            values = batch.column(c)
            if c == "negatives":
                per_row.append(pc.list_value_length(values).fill_null(0).to_numpy(zero_copy_only=False))
            elif c.startswith("negative"):
                parts[c].append(pc.list_flatten(values).to_numpy(zero_copy_only=False).astype(np.float64))
            else:
                parts[c].append(values.to_numpy(zero_copy_only=False).astype(np.float64))
        if "negative_scores" in columns and "positive_score" in columns:
            top = np.array([max(x) if x else np.nan for x in batch.column("negative_scores").to_pylist()])
            above.append(top > batch.column("positive_score").to_numpy(zero_copy_only=False).astype(np.float64))
    out: dict[str, Any] = {}
    for c in SCORE_COLUMNS:
        if c in columns and parts[c]:
            values = np.concatenate(parts[c])
            out[c] = distribution(values[np.isfinite(values)])
    if per_row:
        out["negatives_per_row"] = distribution(np.concatenate(per_row).astype(np.float64))
    if above:
        flags = np.concatenate(above)
        out["rows_hardest_negative_above_positive"] = int(flags.sum())
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


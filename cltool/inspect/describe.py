"""`cltool inspect`: what a dataset is — schema, rows, files, the manifest's story, rejected rows.

Reads Parquet footers and manifests, and of the data only `--head` rows, the `reason` column of
`OUT.rejected` and, for a mined table, its score columns and anchor texts. A training file that emit
wrote is read whole (through validate's reader of them), with the emit manifest beside it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import IO, Any

from cltool.dataset.manifest import rejected_path
from cltool.dataset.columns import NEGATIVE_SCORES, POSITIVE_CE_SCORE, POSITIVE_SCORE
from cltool.dataset.pairs import embedding_info
from cltool.dataset.read import open_dataset
from cltool.errors import InputError

_MANIFEST_KEYS = ("command", "cltool_version", "created_at", "argv", "params", "rows", "rejected_by_reason",
                  "summary", "stages", "wall_time_s")


def inspect_dataset(spec: str, head: int = 0, stdin: IO[bytes] | None = None) -> dict[str, Any]:
    from cltool.validate.training import is_training_file

    if is_training_file(spec):
        return inspect_training_file(spec, head)
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


_EMIT_MANIFEST_KEYS = ("command", "cltool_version", "argv", "params", "rows", "rejected_by_reason", "summary",
                       "wall_time_s")


def inspect_training_file(spec: str, head: int = 0) -> dict[str, Any]:
    """An emitted training file: its lines and columns, the format they are, what they were read as
    (one row per (anchor, positive) pair, as validate reads them), negatives and scores per pair, and
    the emit manifest beside it."""
    from cltool.validate.training import read_training_file

    training = read_training_file(spec)
    path = training.path
    info: dict[str, Any] = {
        "source": str(path),
        "schema": [{"name": f.name, "type": str(f.type)} for f in training.schema],
        "rows": training.lines, "files": 1, "bytes": path.stat().st_size,
        "training_file": training.describe(),
    }
    scores = score_statistics(open_dataset(training.table))
    if scores:
        info["scores"] = scores
    if head:
        info["head"] = training.file_table.slice(0, head).to_pylist()
    manifest = training.manifest
    if manifest is not None:
        info["manifest"] = {k: manifest[k] for k in _EMIT_MANIFEST_KEYS if k in manifest}
        info["manifest_path"] = str(training.manifest_path)
        info["lineage"] = [*(i.get("source") for i in manifest.get("inputs", [])), "emit"]
        if manifest.get("rejected_dataset"):
            rejected = Path(manifest["rejected_dataset"])
            if not rejected.exists():  # moved with its files, or recorded relative by an earlier release
                rejected = training.manifest_path.parent / rejected.name
            info["rejected"] = _rejected_reasons(rejected)
    return info


def score_columns() -> tuple[str, ...]:
    """mine's scores, then filter's judges' (the cross-encoder's of the positive too)."""
    from cltool.filter.judges import score_columns as judges

    return (POSITIVE_SCORE, NEGATIVE_SCORES, POSITIVE_CE_SCORE, *judges())


# the negatives' lists run in parallel (DESIGN); the lightest one present gives negatives per row
_COUNT_COLUMNS = ("negative_scores", "negative_ids", "negatives")


def score_statistics(dataset) -> dict[str, Any] | None:
    """For a mined table: the distributions of the positive and negative scores (and cross-encoder
    scores) and of negatives per row; the rows, and the anchors, without negatives or whose hardest
    negative outscores their anchor's lowest positive: counted as validate's negatives_per_anchor
    and score_sanity count them (an anchor is its rows with the same anchor text, by match key).
    Reads only those columns (and the anchor texts, for the anchors), of the expected types."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from cltool.dataset.columns import ANCHOR
    from cltool.dataset.pairs import match_keys
    from cltool.mine import distribution
    from cltool.validate.checks.score_sanity import negatives_above_positive

    def numeric(t: pa.DataType) -> bool:
        return pa.types.is_floating(t) or pa.types.is_integer(t)

    def listed(t: pa.DataType) -> bool:
        return pa.types.is_list(t) or pa.types.is_large_list(t)

    schema = dataset.schema
    scores = [c for c in score_columns() if c in schema.names and (
        listed(schema.field(c).type) and numeric(schema.field(c).type.value_type) if c.startswith("negative")
        else numeric(schema.field(c).type))]
    count = next((c for c in _COUNT_COLUMNS if c in schema.names and listed(schema.field(c).type)), None)
    if count is None:
        return None
    anchor = ANCHOR if ANCHOR in schema.names else None
    columns = list(dict.fromkeys([*scores, count, *([anchor] if anchor else [])]))
    parts: dict[str, list[np.ndarray]] = {c: [] for c in scores}
    per_row: list[np.ndarray] = []
    anchor_keys: list[int] = []
    positive, negative = [], []
    above = NEGATIVE_SCORES in scores and POSITIVE_SCORE in scores
    for batch in dataset.batches(columns=columns):
        for c in scores:
            values = batch.column(c)
            flat = pc.list_flatten(values) if c.startswith("negative") else values
            parts[c].append(flat.to_numpy(zero_copy_only=False).astype(np.float64))  # nulls become NaN
        per_row.append(pc.list_value_length(batch.column(count)).fill_null(0).to_numpy(zero_copy_only=False))
        # without an anchor column each row is its own anchor
        anchor_keys += (match_keys(batch.column(anchor).to_pylist()) if anchor
                        else range(len(anchor_keys), len(anchor_keys) + batch.num_rows))
        if above:
            positive += batch.column(POSITIVE_SCORE).to_pylist()
            negative += batch.column(NEGATIVE_SCORES).to_pylist()
    out: dict[str, Any] = {c: distribution(np.concatenate(parts[c])) for c in scores if parts[c]}
    counts = np.concatenate(per_row) if per_row else np.zeros(0, dtype=np.int64)
    out["negatives_per_row"] = distribution(counts.astype(np.float64))
    empty = np.nonzero(counts == 0)[0].tolist()
    out["rows_without_negatives"] = len(empty)
    out["anchors_without_negatives"] = len({anchor_keys[r] for r in empty})
    out["anchors"] = len(set(anchor_keys))
    if above:
        found = negatives_above_positive(anchor_keys, positive, negative)
        out["rows_hardest_negative_above_positive"] = found["rows"]
        out["anchors_hardest_negative_above_positive"] = found["anchors"]
        out["anchors_with_positive_score"] = found["of_anchors"]
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


"""`emit`'s training files read back, for `validate` and `inspect`: a JSONL (.jsonl, .jsonl.gz) or a
single Parquet file of one of emit's formats (cltool/emit/formats/*), and its manifest beside it
(`NAME.manifest.json`).

The file's columns are mapped onto the pairs table the checks read (anchor, positive, negatives, and
the scores when the file has them): one row per (anchor, positive) pair, each with the negatives of
its line, and the file line it came from. What could not be mapped is said in `notes`, and the
checks that need it skip.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from cltool.dataset.columns import ANCHOR, NEGATIVE_SCORES, NEGATIVES, POSITIVE, POSITIVE_SCORE
from cltool.errors import InputError

JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".json", ".json.gz")
_NUMBERED = re.compile(r"^negative_(\d+)$")
# format -> the columns that mark it (emit's formats, then a plain pairs file such as --short pairs')
FORMAT_COLUMNS = {
    "bge": "query, pos, neg [, pos_scores, neg_scores, prompt]",
    "labeled-list": "anchor, texts, labels (or scores)",
    "labeled-pair": "anchor, text, label (or score)",
    "triplet": "anchor, positive, negative [, scores]",
    "n-tuple": "anchor, positive, negative_1 .. negative_n [, scores]",
    "pairs": "anchor, positive [, negatives]",
}


@dataclass
class TrainingFile:
    path: Path
    format: str
    schema: pa.Schema  # the file's own columns
    lines: int  # rows of the file, as a loader (datasets, polars) sees them
    table: pa.Table  # the pairs table the checks read
    row_lines: list[int]  # per row of `table`: the file line (1-based) it came from
    read_as: dict[str, str]  # canonical column -> what in the file it was read from
    notes: list[str] = field(default_factory=list)
    manifest: dict[str, Any] | None = None  # emit's, when it lies beside the file and lists it
    manifest_path: Path | None = None
    file_table: pa.Table | None = None  # the file as it was read

    def describe(self) -> dict[str, Any]:
        return {"path": str(self.path), "format": self.format, "lines": self.lines, "pairs": self.table.num_rows,
                "columns": self.schema.names, "read_as": self.read_as, "notes": self.notes,
                "manifest": str(self.manifest_path) if self.manifest_path else None}


def is_training_file(spec: Any) -> bool:
    """A JSONL file, or a single Parquet file whose columns are one of emit's formats (not a pairs
    table: that is read as a dataset) or that an emit manifest beside it lists."""
    if not isinstance(spec, (str, Path)) or str(spec) == "-":
        return False
    path = Path(spec)
    if not path.is_file():
        return False
    name = path.name.lower()
    if name.endswith(JSONL_SUFFIXES):
        return True
    if name.endswith(".parquet") and not name.endswith(".hardness.parquet"):
        import pyarrow.parquet as pq

        try:
            names = pq.read_schema(path).names
        except (pa.ArrowException, OSError):
            return False  # the dataset reader names what is wrong with it
        return detect_format(names) not in (None, "pairs") or emit_manifest(path)[0] is not None
    return False


def detect_format(names: list[str]) -> str | None:
    have = set(names)
    if {"query", "pos"} <= have:
        return "bge"
    if {ANCHOR, "texts"} <= have and have & {"labels", "scores"}:
        return "labeled-list"
    if {ANCHOR, "text"} <= have and have & {"label", "score"}:
        return "labeled-pair"
    if {ANCHOR, POSITIVE} <= have:
        if "negative" in have:
            return "triplet"
        if any(_NUMBERED.match(n) for n in names):
            return "n-tuple"
        return "pairs"
    return None


def emit_manifest(path: Path) -> tuple[dict[str, Any] | None, Path | None]:
    """The emit manifest that lists `path`: `NAME.manifest.json` beside it (NAME without the
    extension, and without a -SPLIT suffix for a split's file)."""
    import json

    from cltool.emit.paths import EXTENSIONS

    name = path.name
    ext = next((e for e in EXTENSIONS if name.endswith(e)), path.suffix)
    base = name[: -len(ext)] if ext else name
    candidates = [base]
    if "-" in base:
        candidates.append(base.rsplit("-", 1)[0])
    candidates.append("emit")  # {split} alone in the name: where earlier releases put the one manifest
    for stem in candidates:
        where = path.with_name(f"{stem}.manifest.json")
        if not where.is_file():
            continue
        try:
            manifest = json.loads(where.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(manifest, dict) or manifest.get("command") != "emit":
            continue
        if listed_entry(manifest, path) is not None:
            return manifest, where
    return None, None


def listed_entry(manifest: dict[str, Any], path: Path) -> dict[str, Any] | None:
    """The emit manifest's entry for the training file `path`, None if it lists no such file. Its paths
    are as emit was given them, relative to where it ran: the one entry whose path ends with most of
    this file's path (from the file's name up) is this file, also from another directory or once the
    folder has moved."""
    target = path.resolve().parts
    best, found = 0, []
    for entry in manifest.get("outputs", []):
        if "role" in entry or not entry.get("path") or entry["path"] == "-":
            continue
        if Path(entry["path"]).resolve().parts == target:
            return entry
        parts = Path(entry["path"]).parts
        same = 0
        while same < min(len(parts), len(target)) and parts[-1 - same] == target[-1 - same]:
            same += 1
        if same > best:
            best, found = same, [entry]
        elif same == best and same:
            found.append(entry)
    return found[0] if best >= 1 and len(found) == 1 else None


def _read_table(path: Path) -> pa.Table:
    if path.name.lower().endswith(".parquet"):
        import pyarrow.parquet as pq

        try:
            return pq.read_table(path)
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"{path} is not a readable Parquet file: {exc}",
                             hint="the file is corrupt or truncated; re-create it") from None
    from cltool.ingest.formats import JsonlSource

    source = JsonlSource(path)
    return pa.concat_tables(list(source.tables()))


def _numbered(names: list[str]) -> list[str]:
    return sorted((n for n in names if _NUMBERED.match(n)), key=lambda n: int(_NUMBERED.match(n).group(1)))


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def read_training_file(spec: str | Path) -> TrainingFile:
    path = Path(spec)
    table = _read_table(path)
    names = table.schema.names
    fmt = detect_format(names)
    if fmt is None:
        known = "; ".join(f"{k}: {v}" for k, v in FORMAT_COLUMNS.items())
        raise InputError(f"{path} has columns {', '.join(names)}: not a training file of a format cltool emit "
                         f"writes ({known})",
                         hint=f"to read other pairs, ingest them first: cltool ingest {path} -o DIR")
    if table.num_rows == 0:
        raise InputError(f"{path} is empty: it has no rows", hint="check the command that wrote it")
    col = {n: table.column(n).to_pylist() for n in names}
    anchors: list[Any] = []
    positives: list[Any] = []
    negatives: list[list[Any]] = []
    pos_scores: list[Any] = []
    neg_scores: list[list[Any]] = []
    row_lines: list[int] = []
    notes: list[str] = []
    has_negatives, has_scores = True, False

    def add(line: int, anchor, positive, negs, pscore=None, nscores=None) -> None:
        anchors.append(anchor)
        positives.append(positive)
        negatives.append(list(negs))
        pos_scores.append(pscore)
        neg_scores.append(list(nscores) if nscores is not None else [])
        row_lines.append(line + 1)

    n = table.num_rows
    if fmt == "triplet":
        read_as = {ANCHOR: ANCHOR, POSITIVE: POSITIVE, NEGATIVES: "negative of each line of the pair"}
        has_scores = "scores" in names
        for i in range(n):
            a, p, x = col[ANCHOR][i], col[POSITIVE][i], col["negative"][i]
            scores = _as_list(col["scores"][i]) if has_scores else []
            if i > 0 and (col[ANCHOR][i - 1], col[POSITIVE][i - 1]) == (a, p):  # the same pair's next negative
                negatives[-1].append(x)
                neg_scores[-1].append(scores[1] if len(scores) > 1 else None)
            else:
                add(i, a, p, [x], scores[0] if scores else None, [scores[1] if len(scores) > 1 else None])
        notes.append(f"triplet: the {n:,} lines are read as {len(anchors):,} (anchor, positive) pairs, each with the "
                     "negatives of its consecutive lines; a pair on lines apart counts as a repeated pair")
    elif fmt == "n-tuple":
        numbered = _numbered(names)
        read_as = {ANCHOR: ANCHOR, POSITIVE: POSITIVE, NEGATIVES: ", ".join(numbered)}
        has_scores = "scores" in names
        for i in range(n):
            scores = _as_list(col["scores"][i]) if has_scores else []
            add(i, col[ANCHOR][i], col[POSITIVE][i], [col[c][i] for c in numbered], scores[0] if scores else None,
                scores[1:])
    elif fmt == "bge":
        has_negatives = "neg" in names
        has_scores = "pos_scores" in names and "neg_scores" in names
        read_as = {ANCHOR: "query", POSITIVE: "pos (one pair per positive)",
                   **({NEGATIVES: "neg"} if has_negatives else {})}
        for i in range(n):
            pos = _as_list(col["pos"][i]) or [None]
            ps = _as_list(col["pos_scores"][i]) if has_scores else []
            for j, p in enumerate(pos):
                add(i, col["query"][i], p, _as_list(col["neg"][i]) if has_negatives else [],
                    ps[j] if j < len(ps) else None, _as_list(col["neg_scores"][i]) if has_scores else None)
    elif fmt == "labeled-list":
        labeled = "labels" in names
        has_scores = not labeled
        if labeled:
            read_as = {ANCHOR: ANCHOR, POSITIVE: "texts labelled 1 (one pair each)", NEGATIVES: "texts labelled 0"}
        else:
            read_as = {ANCHOR: ANCHOR, POSITIVE: "texts[0]", NEGATIVES: "texts[1:]",
                       POSITIVE_SCORE: "scores[0]", NEGATIVE_SCORES: "scores[1:]"}
            notes.append("labeled-list with scores instead of labels: the first text of each line is read as its "
                         "positive, the rest as its negatives (the order emit writes)")
        for i in range(n):
            texts = _as_list(col["texts"][i])
            if labeled:
                labels = _as_list(col["labels"][i])
                pos = [t for t, lab in zip(texts, labels) if lab] or [None]
                negs = [t for t, lab in zip(texts, labels) if not lab]
                for p in pos:
                    add(i, col[ANCHOR][i], p, negs)
            else:
                scores = _as_list(col["scores"][i])
                add(i, col[ANCHOR][i], texts[0] if texts else None, texts[1:], scores[0] if scores else None,
                    scores[1:])
    elif fmt == "labeled-pair":
        if "label" in names:
            read_as = {ANCHOR: ANCHOR, POSITIVE: "text of a line labelled 1",
                       NEGATIVES: "texts of the lines labelled 0 that follow it, with the same anchor"}
            last: dict[Any, int] = {}
            orphans = 0
            for i in range(n):
                a, text, label = col[ANCHOR][i], col["text"][i], col["label"][i]
                if label:
                    last[a] = len(anchors)
                    add(i, a, text, [])
                elif a in last:
                    negatives[last[a]].append(text)
                else:
                    orphans += 1
            if orphans:
                notes.append(f"{orphans:,} lines labelled 0 come before any line labelled 1 of their anchor: "
                             "they are not checked as negatives")
        else:
            has_negatives = False
            read_as = {ANCHOR: ANCHOR, POSITIVE: "text"}
            notes.append("labeled-pair with scores instead of labels: which text is a positive is unknown, so each "
                         "line is read as an (anchor, text) pair; the checks of negatives are skipped")
            for i in range(n):
                add(i, col[ANCHOR][i], col["text"][i], [])
    else:  # pairs
        has_negatives = NEGATIVES in names
        read_as = {ANCHOR: ANCHOR, POSITIVE: POSITIVE, **({NEGATIVES: NEGATIVES} if has_negatives else {})}
        for i in range(n):
            add(i, col[ANCHOR][i], col[POSITIVE][i], _as_list(col[NEGATIVES][i]) if has_negatives else [])
    if has_scores:
        read_as.setdefault(POSITIVE_SCORE, {"bge": "pos_scores"}.get(fmt, "scores[0]"))
        read_as.setdefault(NEGATIVE_SCORES, {"bge": "neg_scores"}.get(fmt, "scores[1:]"))
    if not has_negatives and fmt not in ("labeled-pair",):
        notes.append("no negatives in the file: the checks of negatives are skipped")

    def text(values: list) -> pa.Array:
        return pa.array([v if v is None or isinstance(v, str) else str(v) for v in values], pa.string())

    columns: dict[str, pa.Array] = {ANCHOR: text(anchors), POSITIVE: text(positives)}
    if has_negatives:
        columns[NEGATIVES] = pa.array([[v if v is None or isinstance(v, str) else str(v) for v in row]
                                       for row in negatives], pa.list_(pa.string()))
    if has_scores:
        columns[POSITIVE_SCORE] = pa.array(pos_scores, pa.float32())
        columns[NEGATIVE_SCORES] = pa.array(neg_scores, pa.list_(pa.float32()))
    manifest, manifest_path = emit_manifest(path)
    if manifest is None:
        notes.append(f"no emit manifest beside {path.name} lists it: the manifest check is skipped")
    return TrainingFile(path, fmt, table.schema, n, pa.table(columns), row_lines, read_as, notes, manifest,
                        manifest_path, table)

"""`cltool validate`: data checks for CI. Each check measures one thing, compares it with a limit,
and keeps a few offending rows; the command fails (exit 1) when any check fails.

Limits come from the defaults below, a TOML rules file (`[limits]`, the names of `Rules`), and
`--limit NAME=VALUE` flags, in that order. A check whose columns the table does not have is
skipped, and says so.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cltool.dataset.manifest import file_sha256, rejected_path
from cltool.dataset.pairs import (
    ANCHOR,
    ANCHOR_ID,
    EMBEDDING_SUFFIX,
    NEGATIVE_IDS,
    NEGATIVE_SCORES,
    NEGATIVES,
    POSITIVE,
    POSITIVE_ID,
    POSITIVE_SCORE,
    blank_mask,
    ids_and_match_keys,
    is_text_type,
)
from cltool.dataset.read import Dataset, open_dataset
from cltool.errors import InputError, UsageError

PASS, FAIL, SKIP = "pass", "fail", "skip"


@dataclass
class Rules:
    required_columns: list[str] = field(default_factory=lambda: [ANCHOR, POSITIVE])
    embedding_dim: int | None = None  # every *_embedding column must have it (default: they must agree)
    max_empty_text: int = 0
    max_exact_duplicate_rate: float = 0.0
    max_near_duplicate_rate: float = 0.05
    near_duplicate_threshold: float = 0.8  # MinHash Jaccard on word 5-grams, verified exactly
    max_positive_in_negatives: int = 0
    max_near_duplicate_negatives: int = 0
    min_negatives: int = 0
    max_negatives: int | None = None
    # share of anchors; 1.0 (no limit) by default: mine has no margin by default (it trained better
    # models), so hard negatives outscoring the positive are expected. Set one for margin-mined data.
    max_hardest_negative_above_positive: float = 1.0
    max_contamination: int = 0
    checks: list[str] | None = None  # only these (default: all)

    def set(self, name: str, value: Any) -> None:
        known = {f.name: f for f in fields(self)}
        if name not in known:
            raise UsageError(f"unknown limit {name!r}", hint=f"limits: {', '.join(sorted(known))}")
        current = getattr(self, name)
        if isinstance(value, str) and name not in ("required_columns", "checks"):
            value = None if value.lower() in ("none", "off") else (float(value) if "." in value or "e" in value
                                                                   else int(value))
        elif isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(current, int) and isinstance(value, float) and value.is_integer():
            value = int(value)
        setattr(self, name, value)


def load_rules(path: str | None, overrides: list[str] = ()) -> Rules:
    rules = Rules()
    if path:
        import tomllib

        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(f"rules file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"rules file {path} is not valid TOML: {exc}") from None
        settings = dict(data.get("limits", {}))
        if "checks" in data:
            settings["checks"] = data["checks"]
        for name, value in settings.items():
            rules.set(name, value)
    for item in overrides:
        name, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--limit takes NAME=VALUE, not {item!r}")
        try:
            rules.set(name.strip().replace("-", "_"), value.strip())
        except ValueError:
            raise UsageError(f"--limit {item!r}: {value!r} is not a number") from None
    return rules


@dataclass
class Check:
    name: str
    status: str
    value: Any
    limit: Any
    detail: str
    examples: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Table:
    dataset: Dataset
    table: pa.Table
    anchors: list[str | None]
    positives: list[str | None]
    anchor_keys: list[int]
    positive_keys: list[int]
    positive_ids: list[str | None]
    negatives: list[list[str]] | None
    negative_ids: list[list[str]] | None


def _read(dataset: Dataset) -> _Table:
    names = dataset.schema.names
    wanted = [c for c in names if not c.endswith(EMBEDDING_SUFFIX)]  # vectors are checked from the schema
    table = pa.Table.from_batches(list(dataset.batches(columns=wanted)),
                                  schema=pa.schema([dataset.schema.field(c) for c in wanted]))
    anchors = table.column(ANCHOR).to_pylist() if ANCHOR in names else []
    positives = table.column(POSITIVE).to_pylist() if POSITIVE in names else []
    _, a_keys = ids_and_match_keys(anchors)
    p_ids, p_keys = ids_and_match_keys(positives)
    if POSITIVE_ID in names:
        p_ids = [g if g is not None else d for g, d in zip(table.column(POSITIVE_ID).to_pylist(), p_ids)]
    negatives = negative_ids = None
    if NEGATIVES in names:
        negatives = [[t for t in (row or ()) if t is not None] for row in table.column(NEGATIVES).to_pylist()]
        if NEGATIVE_IDS in names:
            negative_ids = [list(row or ()) for row in table.column(NEGATIVE_IDS).to_pylist()]
    return _Table(dataset, table, anchors, positives, a_keys, p_keys, p_ids, negatives, negative_ids)


def _example(t: _Table, row: int, **extra: Any) -> dict[str, Any]:
    out = {"row": row}
    for column in (ANCHOR_ID, ANCHOR, POSITIVE):
        if column in t.table.column_names:
            value = t.table.column(column)[row].as_py()
            out[column] = value[:200] if isinstance(value, str) else value
    return {**out, **extra}


def _limited(name: str, value: float, limit: float | None, detail: str, examples: list, higher_is_bad=True) -> Check:
    ok = limit is None or (value <= limit if higher_is_bad else value >= limit)
    return Check(name, PASS if ok else FAIL, value, limit, detail, examples if not ok else examples[:0])


def check_schema(t: _Table, rules: Rules, **_) -> Check:
    schema, problems = t.dataset.schema, []
    for column in rules.required_columns:
        if column not in schema.names:
            problems.append(f"missing column {column!r}")
        elif column in (ANCHOR, POSITIVE) and not is_text_type(schema.field(column).type):
            problems.append(f"{column} is {schema.field(column).type}, not text")
    dims = {f.name: f.type.list_size for f in schema if f.name.endswith(EMBEDDING_SUFFIX)
            and pa.types.is_fixed_size_list(f.type)}
    for f in schema:
        if f.name.endswith(EMBEDDING_SUFFIX) and not pa.types.is_fixed_size_list(f.type) and not (
                pa.types.is_list(f.type) and pa.types.is_fixed_size_list(f.type.value_type)):
            problems.append(f"{f.name} is {f.type}, not a fixed-size list of floats")
    if rules.embedding_dim is not None:
        problems += [f"{name} has {dim} dimensions, not {rules.embedding_dim}" for name, dim in dims.items()
                     if dim != rules.embedding_dim]
    elif len(set(dims.values())) > 1:
        problems.append("embedding columns of different dimensions: " + ", ".join(f"{k} {v}" for k, v in dims.items()))
    value = {"columns": len(schema.names), "embedding_dims": dims}
    limit = {"required": rules.required_columns, "embedding_dim": rules.embedding_dim}
    return Check("schema", FAIL if problems else PASS, value, limit, "; ".join(problems) or "ok",
                 [{"problem": p} for p in problems])


def check_empty_text(t: _Table, rules: Rules, examples: int, **_) -> Check:
    if ANCHOR not in t.table.column_names or POSITIVE not in t.table.column_names:
        return Check("empty_text", SKIP, None, rules.max_empty_text, "no anchor and positive columns")
    bad = blank_mask(t.table.column(ANCHOR).combine_chunks()) | blank_mask(t.table.column(POSITIVE).combine_chunks())
    if NEGATIVES in t.table.column_names:
        for r, row in enumerate(t.table.column(NEGATIVES).to_pylist()):
            if any(x is None or not x.strip() for x in (row or ())):
                bad[r] = True
    rows = np.nonzero(bad)[0]
    return _limited("empty_text", int(len(rows)), rules.max_empty_text,
                    f"{len(rows):,} rows with a null or blank anchor, positive or negative",
                    [_example(t, int(r)) for r in rows[:examples]])


def check_exact_duplicates(t: _Table, rules: Rules, examples: int, **_) -> Check:
    if not t.anchors:
        return Check("exact_duplicates", SKIP, None, rules.max_exact_duplicate_rate, "no anchor and positive columns")
    from cltool.dedup.text import DEFAULT_NORMALIZATION, exact_keys, joined, normalize

    # the normalisation of `cltool dedup --method exact` by default, so that a deduplicated table passes
    texts = [pc.fill_null(normalize(pa.array(c, pa.string()), DEFAULT_NORMALIZATION), "")
             for c in (t.anchors, t.positives)]
    first: dict[bytes, int] = {}
    found = []
    for r, key in enumerate(exact_keys(joined(texts))):
        seen = first.setdefault(key, r)
        if seen != r:
            found.append((r, seen))
    rate = len(found) / len(t.anchors)
    return _limited("exact_duplicates", round(rate, 6), rules.max_exact_duplicate_rate,
                    f"{len(found):,} rows repeat an earlier (anchor, positive) pair (after NFKC, case and whitespace "
                    "normalisation, as in cltool dedup)", [_example(t, r, duplicate_of_row=s)
                                                          for r, s in found[:examples]])


def _near(texts: list[str], threshold: float, reference_rows: int = 0):
    from cltool.dedup.near import lsh_params, near_duplicates
    from cltool.dedup.text import DEFAULT_NORMALIZATION, normalize

    array = normalize(pa.array([t or "" for t in texts], pa.large_string()), DEFAULT_NORMALIZATION)
    return near_duplicates(array, threshold=threshold, ngram=5, char_ngrams=False, num_perm=128, seed=1,
                           params=lsh_params(threshold, 128), reference_rows=reference_rows)


def check_near_duplicates(t: _Table, rules: Rules, examples: int, **_) -> Check:
    if not t.anchors:
        return Check("near_duplicates", SKIP, None, rules.max_near_duplicate_rate, "no anchor and positive columns")
    from cltool.dedup.text import JOIN

    found = _near([f"{a or ''}{JOIN}{p or ''}" for a, p in zip(t.anchors, t.positives)],
                  rules.near_duplicate_threshold)
    rate = len(found.removed) / len(t.anchors)
    return _limited("near_duplicates", round(rate, 6), rules.max_near_duplicate_rate,
                    f"{len(found.removed):,} rows are near-duplicates (Jaccard >= {rules.near_duplicate_threshold}, "
                    "word 5-grams of anchor and positive) of an earlier row",
                    [_example(t, int(r), duplicate_of_row=int(d), jaccard=round(float(j), 4))
                     for r, d, j in list(zip(found.removed, found.duplicate_of, found.jaccard))[:examples]])


def _anchor_positives(t: _Table) -> tuple[dict[int, set[str]], dict[int, set[int]]]:
    ids: dict[int, set[str]] = {}
    keys: dict[int, set[int]] = {}
    for a, pid, pkey in zip(t.anchor_keys, t.positive_ids, t.positive_keys):
        ids.setdefault(a, set()).add(pid)
        keys.setdefault(a, set()).add(pkey)
    return ids, keys


def check_positive_in_negatives(t: _Table, rules: Rules, examples: int, **_) -> Check:
    if t.negatives is None:
        return Check("positive_in_negatives", SKIP, None, rules.max_positive_in_negatives, "no negatives column")
    ids, keys = _anchor_positives(t)
    found = []
    for r, row in enumerate(t.negatives):
        a = t.anchor_keys[r]
        row_ids = t.negative_ids[r] if t.negative_ids is not None else [None] * len(row)
        for text, key, nid in zip(row, ids_and_match_keys(row)[1], row_ids):
            if key in keys[a] or key == a or (nid is not None and nid in ids[a]):
                found.append(_example(t, r, negative=text[:200], negative_id=nid))
    return _limited("positive_in_negatives", len(found), rules.max_positive_in_negatives,
                    f"{len(found):,} negatives are one of their anchor's positives (by id or by text) or the anchor",
                    found[:examples])


def check_near_duplicate_negatives(t: _Table, rules: Rules, examples: int, **_) -> Check:
    if t.negatives is None:
        return Check("near_duplicate_negatives", SKIP, None, rules.max_near_duplicate_negatives,
                     "no negatives column")
    from cltool.dedup.near import utf8_buffers
    from cltool.dedup.text import DEFAULT_NORMALIZATION, normalize
    from cltool.kernels.minhash import WORD, jaccard_pairs, shingle_sets

    texts: dict[str, int] = {}
    for value in [*(p or "" for p in t.positives), *(x for row in t.negatives for x in row)]:
        texts.setdefault(value, len(texts))
    data, offsets = utf8_buffers(normalize(pa.array(list(texts), pa.large_string()), DEFAULT_NORMALIZATION))
    values, set_offsets = shingle_sets(data, offsets, 5, WORD)
    positives_of: dict[int, set[int]] = {}
    for a, p in zip(t.anchor_keys, t.positives):
        positives_of.setdefault(a, set()).add(texts[p or ""])
    left, right, where = [], [], []
    for r, row in enumerate(t.negatives):
        for x in row:
            for p in positives_of[t.anchor_keys[r]]:
                left.append(texts[x])
                right.append(p)
                where.append((r, x))
    similarity = jaccard_pairs(values, set_offsets, np.array(left, dtype=np.int64), np.array(right, dtype=np.int64))
    hits = sorted({where[i] for i in np.nonzero(similarity >= rules.near_duplicate_threshold)[0].tolist()})
    return _limited("near_duplicate_negatives", len(hits), rules.max_near_duplicate_negatives,
                    f"{len(hits):,} negatives are near-duplicates of one of their anchor's positives (Jaccard >= "
                    f"{rules.near_duplicate_threshold}, word 5-grams)",
                    [_example(t, r, negative=x[:200]) for r, x in hits[:examples]])


def check_negatives_per_anchor(t: _Table, rules: Rules, examples: int, **_) -> Check:
    limit = {"min": rules.min_negatives, "max": rules.max_negatives}
    if t.negatives is None:
        return Check("negatives_per_anchor", SKIP, None, limit, "no negatives column")
    counts = np.array([len(row) for row in t.negatives])
    bad = (counts < rules.min_negatives) | (counts > (rules.max_negatives if rules.max_negatives is not None
                                                      else math.inf))
    value = {"min": int(counts.min()), "max": int(counts.max()), "mean": round(float(counts.mean()), 3),
             "rows_outside": int(bad.sum())}
    rows = np.nonzero(bad)[0]
    return Check("negatives_per_anchor", FAIL if bad.any() else PASS, value, limit,
                 f"{int(bad.sum()):,} rows outside {rules.min_negatives}..{rules.max_negatives or 'any'}",
                 [_example(t, int(r), negatives=int(counts[r])) for r in rows[:examples]])


def check_score_sanity(t: _Table, rules: Rules, examples: int, **_) -> Check:
    columns = t.table.column_names
    if NEGATIVE_SCORES not in columns or POSITIVE_SCORE not in columns:
        return Check("score_sanity", SKIP, None, rules.max_hardest_negative_above_positive,
                     "no negative_scores and positive_score columns")
    lowest: dict[int, float] = {}
    hardest: dict[int, tuple[float, int]] = {}
    for r, (a, pos, scores) in enumerate(zip(t.anchor_keys, t.table.column(POSITIVE_SCORE).to_pylist(),
                                             t.table.column(NEGATIVE_SCORES).to_pylist())):
        if pos is not None:
            lowest[a] = min(lowest.get(a, math.inf), pos)
        top = max((s for s in (scores or ()) if s is not None), default=None)
        if top is not None and top > hardest.get(a, (-math.inf, r))[0]:
            hardest[a] = (top, r)
    above = [(a, h) for a, h in hardest.items() if a in lowest and h[0] > lowest[a]]
    share = len(above) / max(len(lowest), 1)
    return _limited("score_sanity", round(share, 6), rules.max_hardest_negative_above_positive,
                    f"{len(above):,} of {len(lowest):,} anchors have a negative that outscores their lowest positive",
                    [_example(t, h[1], hardest_negative_score=round(h[0], 5), positive_score=round(lowest[a], 5))
                     for a, h in above[:examples]])


def check_manifest(t: _Table, rules: Rules, examples: int, **_) -> Check:
    manifest = t.dataset.manifest
    if manifest is None:
        return Check("manifest", SKIP, None, None, "no manifest (a file, a glob or a stream)")
    root = Path(t.dataset.source)
    problems = []
    for entry in manifest.get("outputs", []):
        path = root / entry["path"]
        actual = next((f.rows for f in t.dataset.files if f.path == path), None)
        if actual is not None and actual != entry.get("rows"):
            problems.append(f"{entry['path']}: {actual} rows, the manifest says {entry.get('rows')}")
        if entry.get("sha256") and file_sha256(path) != entry["sha256"]:
            problems.append(f"{entry['path']}: sha256 differs from the manifest (changed after it was written)")
    rows = manifest.get("rows", {})
    if {"input", "output", "rejected"} <= set(rows) and rows["input"] != rows["output"] + rows["rejected"]:
        problems.append(f"rows do not add up: {rows['input']} in, {rows['output']} kept, {rows['rejected']} rejected")
    if rows.get("output") is not None and rows["output"] != t.table.num_rows:
        problems.append(f"{t.table.num_rows} rows read, the manifest says {rows['output']}")
    rejected = rejected_path(root, manifest)
    if rows.get("rejected") and rejected is not None and rejected.is_dir():
        try:
            kept = open_dataset(rejected).num_rows
        except InputError as exc:
            problems.append(f"{rejected}: {exc}")
        else:
            if kept != rows["rejected"]:
                problems.append(f"{rejected} holds {kept} rows, the manifest says {rows['rejected']}")
    value = {"files": len(manifest.get("outputs", [])), "rows": rows}
    return Check("manifest", FAIL if problems else PASS, value, "files and counts as recorded",
                 "; ".join(problems) or "every file's rows and sha256 match, and kept + rejected = input",
                 [{"problem": p} for p in problems[:examples]])


def check_contamination(t: _Table, rules: Rules, examples: int, against: _Table | None = None, **_) -> Check:
    if against is None:
        return Check("contamination", SKIP, None, rules.max_contamination, "no --against dataset")
    theirs = {k for k in against.anchor_keys + against.positive_keys if k}
    found = []
    for r, (a, p) in enumerate(zip(t.anchor_keys, t.positive_keys)):
        if a in theirs or p in theirs:
            found.append(_example(t, r, match="exact"))
    reference = [x or "" for x in against.anchors + against.positives]
    ours = [x or "" for x in t.anchors + t.positives]
    near = _near(reference + ours, rules.near_duplicate_threshold, reference_rows=len(reference))
    exact_rows = {e["row"] for e in found}
    for position, j in zip(near.removed.tolist(), near.jaccard.tolist()):
        r = (position - len(reference)) % len(t.anchors)
        if r not in exact_rows:
            exact_rows.add(r)
            found.append(_example(t, r, match=f"near (Jaccard {j:.3f})"))
    return _limited("contamination", len(found), rules.max_contamination,
                    f"{len(found):,} rows share an anchor or positive with {against.dataset.source}, exactly or as a "
                    f"near-duplicate (Jaccard >= {rules.near_duplicate_threshold})", found[:examples])


CHECKS: dict[str, Callable[..., Check]] = {
    "schema": check_schema,
    "empty_text": check_empty_text,
    "exact_duplicates": check_exact_duplicates,
    "near_duplicates": check_near_duplicates,
    "positive_in_negatives": check_positive_in_negatives,
    "near_duplicate_negatives": check_near_duplicate_negatives,
    "negatives_per_anchor": check_negatives_per_anchor,
    "score_sanity": check_score_sanity,
    "manifest": check_manifest,
    "contamination": check_contamination,
}


def validate(input: str, rules: Rules | None = None, *, against: str | None = None, examples: int = 3,
             stdin=None) -> dict[str, Any]:
    """Run the checks; returns {"dataset", "passed", "checks": [...]} (never raises for a failed check)."""
    rules = rules or Rules()
    chosen = rules.checks or list(CHECKS)
    unknown = [c for c in chosen if c not in CHECKS]
    if unknown:
        raise UsageError(f"unknown check {', '.join(unknown)}", hint=f"checks: {', '.join(CHECKS)}")
    dataset = open_dataset(input, stdin=stdin)
    table = _read(dataset)
    if table.table.num_rows == 0:
        raise InputError(f"{dataset.source} is empty: it has no rows", hint="check that the right input was given")
    other = _read(open_dataset(against)) if against else None
    results = [CHECKS[name](table, rules, examples=examples, against=other) for name in chosen]
    return {"dataset": dataset.source, "rows": table.table.num_rows, "against": against,
            "passed": all(c.status != FAIL for c in results), "checks": [asdict(c) for c in results]}


def junit_xml(report: dict[str, Any]) -> str:
    """JUnit XML: one test case per check, a failure for each failed check, skipped ones marked."""
    import json
    from xml.etree import ElementTree as ET

    checks = report["checks"]
    suite = ET.Element("testsuite", name="cltool validate", tests=str(len(checks)),
                      failures=str(sum(c["status"] == FAIL for c in checks)),
                      skipped=str(sum(c["status"] == SKIP for c in checks)))
    ET.SubElement(ET.SubElement(suite, "properties"), "property", name="dataset", value=str(report["dataset"]))
    for c in checks:
        case = ET.SubElement(suite, "testcase", classname=f"cltool.validate.{Path(str(report['dataset'])).name}",
                             name=c["name"])
        if c["status"] == FAIL:
            failure = ET.SubElement(case, "failure", message=f"{c['detail']} (value {c['value']}, limit {c['limit']})")
            failure.text = json.dumps(c["examples"], indent=2, ensure_ascii=False, default=str)
        elif c["status"] == SKIP:
            ET.SubElement(case, "skipped", message=c["detail"])
        else:
            ET.SubElement(case, "system-out").text = f"{c['detail']} (value {c['value']}, limit {c['limit']})"
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"

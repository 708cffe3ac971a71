"""`cltool report`: one self-contained HTML page about a dataset, for a person.

Inline SVG charts (cltool.report.svg), no script and nothing fetched: the positive and negative
score distributions and their overlap, negatives per anchor, score by rank, the negatives that
recur across anchors (hubs), the pair judges' shares and what they removed, the dedup cluster sizes
found up the chain, and each step's row accounting, read from the manifests of the chain that made
the dataset.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from cltool import __version__
from cltool.calibration import describe_lines, manifest_calibration
from cltool.dataset.manifest import read_manifest, rejected_path
from cltool.dataset.columns import (
    ANCHOR,
    NEGATIVE_CE_SCORES,
    NEGATIVE_RANKS,
    NEGATIVE_SCORES,
    NEGATIVES,
    POSITIVE_CE_SCORE,
    POSITIVE_SCORE,
)
from cltool.dataset.pairs import match_keys
from cltool.dataset.read import open_dataset
from cltool.dataset.write import write_file_atomically
from cltool.errors import UsageError
from cltool.filter.pair_judges import PAIR_JUDGES
from cltool.report import svg

HUBS = 15


def _chain(source: str, manifest: dict[str, Any] | None, limit: int = 12) -> list[dict[str, Any]]:
    """The steps that made the dataset, oldest first, each with its manifest's row counts, found by
    following each manifest's first input (a step whose input has moved is where the chain ends)."""
    steps = []
    path: Path | None = Path(source)
    while manifest is not None and path is not None and len(steps) < limit:
        steps.append({"command": manifest.get("command"), "path": str(path), "rows": manifest.get("rows", {}),
                      "rejected": str(rejected_path(path, manifest) or "") or None,
                      "rejected_by_reason": manifest.get("rejected_by_reason", {}),
                      "wall_time_s": manifest.get("wall_time_s"), "calibration": manifest_calibration(manifest),
                      "reuse": (manifest.get("summary") or {}).get("reuse"),
                      "pairs": (manifest.get("summary") or {}).get("pairs")})
        inputs = manifest.get("inputs") or []
        path = Path(inputs[0]["source"]) if inputs and inputs[0].get("source") not in (None, "-") else None
        manifest = read_manifest(path) if path is not None and path.is_dir() else None
    return steps[::-1]


def _cluster_sizes(steps: list[dict[str, Any]]) -> tuple[Counter[int], str | None]:
    """Sizes of the duplicate clusters a dedup step up the chain removed rows from (kept row + copies)."""
    for step in reversed(steps):
        if step["command"] != "dedup":
            continue
        if not step["rejected"]:  # the step removed nothing: no clusters
            return Counter(), step["path"]
        try:
            rejected = open_dataset(step["rejected"])
        except Exception:  # noqa: BLE001 - a moved or damaged dedup output only means no cluster plot
            return Counter(), None
        if "duplicate_of" not in rejected.schema.names:
            return Counter(), step["path"]
        targets: Counter[str] = Counter()
        for batch in rejected.batches(columns=["duplicate_of"]):
            targets.update(t for t in batch.column(0).to_pylist() if t is not None)
        return Counter(1 + n for n in targets.values()), step["path"]
    return Counter(), None


def gather(spec: str) -> dict[str, Any]:
    """Everything the page shows, as plain data (also what --json prints)."""
    dataset = open_dataset(spec)
    names = dataset.schema.names
    share_columns = {j.share_column: name for name, j in PAIR_JUDGES.items() if j.share_column in names}
    columns = [c for c in (ANCHOR, NEGATIVES, NEGATIVE_SCORES, NEGATIVE_RANKS, POSITIVE_SCORE, NEGATIVE_CE_SCORES,
                           POSITIVE_CE_SCORE, *share_columns) if c in names]
    table = pa.Table.from_batches(list(dataset.batches(columns=columns)),
                                  schema=pa.schema([dataset.schema.field(c) for c in columns]))
    data: dict[str, Any] = {"source": dataset.source, "rows": table.num_rows, "columns": names}
    if POSITIVE_SCORE in names:
        data["positive_scores"] = table.column(POSITIVE_SCORE).to_numpy(zero_copy_only=False).astype(float)
    if NEGATIVE_SCORES in names:
        lists = table.column(NEGATIVE_SCORES).to_pylist()
        data["negative_scores"] = np.array([s for row in lists for s in (row or ()) if s is not None], dtype=float)
        ranks = (table.column(NEGATIVE_RANKS).to_pylist() if NEGATIVE_RANKS in names else
                 [list(range(len(row or ()))) for row in lists])
        by_rank: dict[int, list[float]] = {}
        for row, rank_row in zip(lists, ranks):
            for s, r in zip(row or (), rank_row or ()):
                if s is not None and r is not None:
                    by_rank.setdefault(int(r), []).append(s)
        data["score_by_rank"] = {r: float(np.mean(v)) for r, v in sorted(by_rank.items()) if len(v) >= 5}
        data["rank_kind"] = "rank among the candidates" if NEGATIVE_RANKS in names else "position in the list"
    if POSITIVE_CE_SCORE in names and NEGATIVE_CE_SCORES in names:
        data["positive_ce_scores"] = table.column(POSITIVE_CE_SCORE).to_numpy(zero_copy_only=False).astype(float)
        data[NEGATIVE_CE_SCORES] = np.array([s for row in table.column(NEGATIVE_CE_SCORES).to_pylist()
                                               for s in (row or ()) if s is not None], dtype=float)
    if NEGATIVES in names:
        negatives = table.column(NEGATIVES).to_pylist()
        anchors = table.column(ANCHOR).to_pylist() if ANCHOR in names else list(range(len(negatives)))
        per_anchor: dict[Any, int] = {}
        used: dict[str, set] = {}
        for key, row in zip(match_keys([str(a) for a in anchors]), negatives):
            per_anchor[key] = max(per_anchor.get(key, 0), len(row or ()))
            for text in row or ():
                used.setdefault(text, set()).add(key)
        data["negatives_per_anchor"] = dict(sorted(Counter(per_anchor.values()).items()))
        hubs = sorted(used.items(), key=lambda item: (-len(item[1]), item[0]))[:HUBS]
        data["hubs"] = [{"negative": text, "anchors": len(keys)} for text, keys in hubs if len(keys) > 1]
        data["anchors"] = len(per_anchor)
    if share_columns:  # filter --pair-judge: each judge's share, on the rows it kept
        data["pair_shares"] = {judge: table.column(c).to_numpy(zero_copy_only=False).astype(float)
                               for c, judge in share_columns.items()}
    steps = _chain(dataset.source, dataset.manifest)
    data["steps"] = steps
    # the data's own date, not the clock's: the same dataset gives the same page (make, CI diffs)
    data["created_at"] = (dataset.manifest or {}).get("created_at")
    sizes, dedup_path = _cluster_sizes(steps)
    data["cluster_sizes"] = dict(sorted(sizes.items()))
    data["dedup_output"] = dedup_path
    return data


def _overlap(a: np.ndarray, b: np.ndarray, bins: int = 50) -> float | None:
    """Overlap coefficient of two distributions: the area both histograms share (0 none, 1 identical)."""
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if not len(a) or not len(b):
        return None
    edges = np.linspace(min(a.min(), b.min()), max(a.max(), b.max()) + 1e-9, bins + 1)
    pa_, pb = np.histogram(a, edges)[0] / len(a), np.histogram(b, edges)[0] / len(b)
    return float(np.minimum(pa_, pb).sum())


def render(data: dict[str, Any]) -> str:
    e = html.escape
    sections: list[str] = []
    pos, neg = data.get("positive_scores"), data.get("negative_scores")
    if pos is not None or neg is not None:
        series = {k: v for k, v in (("positive", pos), ("negative", neg)) if v is not None}
        overlap = _overlap(pos, neg) if pos is not None and neg is not None else None
        text = (f"<p>Overlap of the two distributions: <b>{overlap:.3f}</b> (0: separate, 1: the same). Negatives "
                "that score like positives are where false negatives hide.</p>") if overlap is not None else ""
        sections.append(f"<h2>Scores</h2>{text}" + svg.histogram("scores", "Positive and negative scores", series,
                                                                 "score (cosine)"))
    if data.get(NEGATIVE_CE_SCORES) is not None:
        sections.append(svg.histogram("ce_scores", "Cross-encoder scores",
                                      {"positive": data["positive_ce_scores"], "negative": data[NEGATIVE_CE_SCORES]},
                                      "cross-encoder score"))
    if data.get("negatives_per_anchor"):
        counts = data["negatives_per_anchor"]
        sections.append("<h2>Negatives per anchor</h2>" + svg.bars(
            "negatives_per_anchor", f"Negatives per anchor ({data['anchors']:,} anchors)", [str(k) for k in counts],
            list(counts.values()), "negatives", "anchors"))
    if data.get("score_by_rank"):
        ranks = data["score_by_rank"]
        sections.append("<h2>Score by rank</h2>" + svg.lines(
            "score_by_rank", "Mean negative score by rank", list(ranks), {"mean score": list(ranks.values())},
            data["rank_kind"], "mean score"))
    if "hubs" in data:
        hubs = data["hubs"]
        rows = "".join(f"<tr><td>{h['anchors']:,}</td><td>{e(str(h['negative'])[:160])}</td></tr>" for h in hubs)
        reuse = next((s["reuse"] for s in reversed(data.get("steps", [])) if s.get("reuse")), None)
        capped = ("" if reuse is None else
                  f"<p>mine --max-reuse {reuse['max_reuse']:,}: the most used negative was chosen for "
                  f"{reuse['before']['most_used']:,} anchors before the cap and {reuse['after']['most_used']:,} "
                  f"after; {reuse['replaced']:,} negatives were replaced by the anchor's next eligible candidate, "
                  f"{reuse['kept_over_cap']:,} kept over the cap (no other eligible candidate).</p>")
        sections.append("<h2>Hub negatives</h2><p>Texts chosen as a negative for many anchors: a few hubs are "
                        "normal, many make the negatives repetitive.</p>" + capped + svg.bars(
                            "hubs", "Anchors per hub negative", [str(i + 1) for i in range(len(hubs))],
                            [h["anchors"] for h in hubs], "hub (rank)", "anchors") +
                        (f"<table><tr><th>anchors</th><th>negative</th></tr>{rows}</table>" if rows else
                         "<p>No negative is shared by two anchors.</p>"))
    judged = next((s for s in reversed(data.get("steps", [])) if s.get("pairs")), None)
    if judged is not None or data.get("pair_shares"):
        text = ""
        if judged is not None:
            pairs = judged["pairs"]
            flagged = ", ".join(f"{e(k)} {v:,}" for k, v in pairs["flagged_by_judge"].items())
            text = (f"<p>{e(str(judged['command']))} ({e(judged['path'])}): {pairs['judged']:,} pairs judged, "
                    f"<b>{pairs['removed']:,}</b> ({pairs['removed_share']:.1%}) removed as mismatched (vote "
                    f"{e(str(pairs['vote']))} at a share above {pairs['mismatch_share']:g}; flagged: {flagged}).</p>")
        chart = (svg.histogram("pair_shares", "Pair judges' shares of the kept rows", data["pair_shares"],
                               "share of mismatched pairings that outscore the pair")
                 if data.get("pair_shares") else "")
        sections.append("<h2>Pair signals</h2><p>How many mismatched pairings (other rows' positives for the "
                        "anchor, other anchors for the positive, random pairs) outscore each row's own pair: near 0 "
                        "for a pair whose positive answers its anchor, spread over 0-1 for a swapped one.</p>"
                        + text + chart)
    sizes = data.get("cluster_sizes")
    if sizes:
        sections.append(f"<h2>Duplicate clusters</h2><p>From {e(str(data['dedup_output']))}: each cluster is a kept "
                        "row and the rows removed as its copies.</p>" + svg.bars(
                            "cluster_sizes", "Duplicate cluster sizes", [str(k) for k in sizes],
                            list(sizes.values()), "rows in the cluster", "clusters"))
    calibrated = [(step, describe_lines(step["calibration"])) for step in data.get("steps", [])
                  if step.get("calibration")]
    if calibrated:
        items = "".join(f"<li><b>{e(str(step['command']))}</b> ({e(step['path'])}): {e(line)}</li>"
                        for step, lines in calibrated for line in lines)
        sections.append("<h2>Thresholds read off the data</h2><p>What a cosine means depends on the model and the "
                        "data: these thresholds were read off random pairs of the data's own texts when each step "
                        f"ran.</p><ul>{items}</ul>")
    if data.get("steps"):
        rows = []
        for step in data["steps"]:
            r = step["rows"]
            reasons = ", ".join(f"{e(k)} {v:,}" for k, v in step["rejected_by_reason"].items()) or "-"
            adds = r.get("input") == r.get("output", 0) + r.get("rejected", 0) if "input" in r else None
            mark = "" if adds in (None, True) else ' <b class="bad">does not add up</b>'
            rows.append(f"<tr><td>{e(str(step['command']))}</td><td>{r.get('input', '-'):,}</td>"
                        f"<td>{r.get('output', '-'):,}</td><td>{r.get('rejected', 0):,}</td><td>{reasons}{mark}</td>"
                        f"<td>{e(step['path'])}</td></tr>")
        sections.append("<h2>Row accounting</h2><table><tr><th>step</th><th>in</th><th>kept</th><th>rejected</th>"
                        f"<th>by reason</th><th>output</th></tr>{''.join(rows)}</table>")
    written = f", data written {e(str(data['created_at']))}" if data.get("created_at") else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>cltool report: {e(data['source'])}</title>
<style>body{{font-family:sans-serif;max-width:900px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;font-size:13px}}td,th{{border:1px solid #ccc;padding:3px 6px;text-align:left}}
svg{{display:block;margin:1em 0}}.bad{{color:#b8413b}}</style></head>
<body><h1>{e(data['source'])}</h1><p>{data['rows']:,} rows; cltool {__version__}{written}</p>
{''.join(sections)}</body></html>
"""


def report(spec: str, output: str) -> dict[str, Any]:
    """Write the HTML page for `spec` to `output` (atomically); returns the summary of what it shows."""
    if not output.endswith((".html", ".htm")):
        raise UsageError(f"the report is an HTML page: give -o a .html path, not {output!r}")
    data = gather(spec)
    page = render(data)
    target = Path(output)
    write_file_atomically(target, page)
    return json.loads(json.dumps({k: v for k, v in data.items() if not isinstance(v, np.ndarray)}, default=str)) | {
        "output": str(target), "plots": page.count('class="plot"')}

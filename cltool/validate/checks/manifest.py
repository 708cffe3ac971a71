from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cltool.dataset.manifest import file_sha256, rejected_path
from cltool.errors import InputError
from cltool.validate.checks.registry import Result, from_problems, register, skipped

if TYPE_CHECKING:
    from cltool.validate.read import Data
    from cltool.validate.rules import Rules


@register("manifest", "every file's rows and sha256 are as the manifest records, and kept + rejected = input",
          order=10)
def check_manifest(t: Data, rules: Rules, examples: int, against: Data | None) -> Result:
    if t.training is not None:
        return _check_emit_manifest(t, examples)
    manifest = t.dataset.manifest
    if manifest is None:
        return skipped(None, "no manifest (a file, a glob or a stream)")
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
        from cltool.dataset.read import open_dataset

        try:
            kept = open_dataset(rejected, verify=False).num_rows
        except InputError as exc:
            problems.append(f"{rejected}: {exc}")
        else:
            if kept != rows["rejected"]:
                problems.append(f"{rejected} holds {kept} rows, the manifest says {rows['rejected']}")
    value = {"files": len(manifest.get("outputs", [])), "rows": rows}
    return from_problems(value, "files and counts as recorded", problems,
                         "every file's rows and sha256 match, and kept + rejected = input", examples)


def _check_emit_manifest(t: Data, examples: int) -> Result:
    """An emitted training file: its lines and sha256 are those its emit manifest records."""
    from cltool.validate.training import listed_entry

    training = t.training
    if training.manifest is None:
        return skipped(None, f"no emit manifest beside {training.path.name} lists it")
    entry = listed_entry(training.manifest, training.path)
    problems = []
    if entry.get("rows") is not None and entry["rows"] != training.lines:
        problems.append(f"{training.path.name}: {training.lines:,} lines, {training.manifest_path.name} says "
                        f"{entry['rows']:,}")
    if entry.get("sha256") and file_sha256(training.path) != entry["sha256"]:
        problems.append(f"{training.path.name}: sha256 differs from {training.manifest_path.name} (changed after "
                        "emit wrote it)")
    value = {"manifest": str(training.manifest_path), "lines": training.lines}
    return from_problems(value, "lines and sha256 as recorded", problems,
                         f"the file's lines and sha256 match {training.manifest_path.name}", examples)

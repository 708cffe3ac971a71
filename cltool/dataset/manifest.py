"""A dataset's manifest: `NAME.manifest.json` beside the directory `NAME/`, written last; its presence
marks a finished dataset.

The directory itself holds the data shards and nothing else, so that every loader people use
(`datasets.load_dataset`, polars, pandas, `pyarrow.dataset`, DuckDB) reads exactly the kept rows: what
is not rows of the dataset lives beside it under the same name, `NAME.rejected/` (the rows a step
removed, a dataset of its own) and `NAME.PART/` (a part of the dataset that is not rows of it, such as
saved candidates' texts), each with its own manifest. Datasets written before this layout (format 1:
`_manifest.json`, `_rejected/` and `_PART/` inside the directory) are still read.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cltool.errors import InputError

MANIFEST_SUFFIX = "manifest.json"  # NAME.manifest.json beside NAME
REJECTED_SUFFIX = "rejected"  # NAME.rejected beside NAME
FORMAT = "cltool-dataset/2"
FORMAT_INSIDE = "cltool-dataset/1"  # manifest, rejected rows and parts inside the directory
LEGACY_MANIFEST_NAME = "_manifest.json"
LEGACY_REJECTED_DIR = "_rejected"
READABLE_FORMATS = (FORMAT, FORMAT_INSIDE)


def named(directory: str | Path) -> Path:
    """The directory with a name to put things beside (`.` and `..` have none until resolved)."""
    path = Path(directory)
    return path if path.name not in ("", ".", "..") else Path(os.path.abspath(path))


def beside(directory: str | Path, suffix: str) -> Path:
    """`NAME.suffix` next to the directory `NAME`: its manifest, its rejected rows, its parts."""
    path = named(directory)
    return path.parent / f"{path.name}.{suffix.lstrip('_')}"


def manifest_path(directory: str | Path) -> Path:
    """Where a dataset's manifest is: beside it, or inside it for a dataset of format 1. A dataset
    with neither gives the path beside it (where the step that writes it will put it)."""
    outside = beside(directory, MANIFEST_SUFFIX)
    inside = Path(directory) / LEGACY_MANIFEST_NAME
    return inside if inside.is_file() and not outside.is_file() else outside


def has_manifest(directory: str | Path) -> bool:
    return manifest_path(directory).is_file()


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(directory: str | Path) -> dict[str, Any] | None:
    """The manifest of the dataset in `directory` (beside it, or inside it for format 1); None if it
    has none."""
    path = manifest_path(directory)
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(
            f"{path} is not a readable cltool manifest: {exc}",
            hint="re-run the step that wrote this dataset",
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") not in READABLE_FORMATS:
        raise InputError(
            f"{path} is not a cltool manifest (expected \"format\": \"{FORMAT}\")",
            hint="re-run the step that wrote this dataset",
        )
    return manifest


def part_path(directory: str | Path, manifest: dict[str, Any] | None, name: str) -> Path:
    """Where a part of a dataset is (a side dataset such as saved candidates' texts, or the rejected
    rows' own parts): `NAME.part` beside it, or `NAME/_part` inside it for format 1."""
    if manifest is not None and manifest.get("format") == FORMAT_INSIDE:
        return Path(directory) / name
    return beside(directory, name)


def rejected_path(directory: str | Path, manifest: dict[str, Any]) -> Path | None:
    """Where a dataset's rejected rows are: `NAME.rejected` beside it (`_rejected` inside it for format
    1), or the folder given with --rejected (recorded absolute); None when the step kept none."""
    recorded = manifest.get("rejected_dataset")
    if not recorded:
        return None
    if Path(recorded).is_absolute() or manifest.get("format") == FORMAT_INSIDE:
        return Path(directory) / recorded  # an absolute path stays itself
    return beside(directory, REJECTED_SUFFIX)  # by the name the dataset has now: it may have been moved


def write_manifest(directory: Path, manifest: dict[str, Any], final: Path | None = None) -> Path:
    """Write the manifest for `directory` beside it (at `final` when the directory is still under
    a temporary name), via a `.partial` file renamed whole; returns where it went."""
    path = final if final is not None else beside(directory, MANIFEST_SUFFIX)
    tmp = path.parent / (path.name + ".partial")
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.rename(path)
    return path


def lineage_of(manifest: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The chain of steps that produced a dataset, oldest first, its own step last."""
    if manifest is None:
        return []
    own = {"command": manifest.get("command"), "cltool_version": manifest.get("cltool_version"),
           "params": manifest.get("params", {})}
    return [*manifest.get("lineage", []), own]

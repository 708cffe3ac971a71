"""`_manifest.json`: written last into every dataset directory; its presence marks a finished dataset."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from cltool.errors import InputError

MANIFEST_NAME = "_manifest.json"
REJECTED_DIR = "_rejected"
FORMAT = "cltool-dataset/1"


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(directory: Path) -> dict[str, Any] | None:
    path = directory / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(
            f"{path} is not a readable cltool manifest: {exc}",
            hint="re-run the step that wrote this dataset",
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InputError(
            f"{path} is not a cltool manifest (expected \"format\": \"{FORMAT}\")",
            hint="re-run the step that wrote this dataset",
        )
    return manifest


def rejected_path(directory: str | Path, manifest: dict[str, Any]) -> Path | None:
    """Where a dataset's rejected rows are: `_rejected` inside it, or the folder given with --rejected
    (recorded absolute); None when the step rejected nothing."""
    recorded = manifest.get("rejected_dataset")
    return Path(directory) / recorded if recorded else None


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    tmp = directory / (MANIFEST_NAME + ".partial")
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.rename(directory / MANIFEST_NAME)


def lineage_of(manifest: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The chain of steps that produced a dataset, oldest first, its own step last."""
    if manifest is None:
        return []
    own = {"command": manifest.get("command"), "cltool_version": manifest.get("cltool_version"),
           "params": manifest.get("params", {})}
    return [*manifest.get("lineage", []), own]

"""Where emit's files go: the extension picks the file type; {split} (or -SPLIT) names each split's
file; the manifest, the rejected rows and the hardness files sit beside them."""

from __future__ import annotations

from pathlib import Path

from cltool.emit.settings import TRAIN
from cltool.errors import UsageError

EXTENSIONS = (".jsonl", ".jsonl.gz", ".parquet")


def output_extension(path: str) -> str:
    for ext in EXTENSIONS:
        if path.endswith(ext):
            return ext
    raise UsageError(f"cannot write {path!r}: emit writes {', '.join(EXTENSIONS)} files (chosen by the extension), "
                     "or - for JSONL on stdout", hint="e.g. -o data/train.jsonl")


def split_path(path: str, split: str | None) -> Path:
    """The file of one split: {split} replaced, or -SPLIT before the extension; the path itself when unsplit."""
    if "{split}" in path:
        return Path(path.replace("{split}", split or TRAIN))
    if split is None:
        return Path(path)
    ext = output_extension(path)
    return Path(path[:-len(ext)] + f"-{split}" + ext)


def hardness_path(path: Path) -> Path:
    """train.jsonl -> train.hardness.parquet: the scores and ranks, row for row with the training file."""
    return path.with_name(path.name[:-len(output_extension(path.name))] + ".hardness.parquet")


def sidecar(output: str, suffix: str) -> Path:
    """OUT.manifest.json / OUT.rejected beside the output ({split} dropped from the name)."""
    ext = output_extension(output)
    base = output[:-len(ext)].replace("-{split}", "").replace("{split}", "emit")
    return Path(f"{base}.{suffix}")

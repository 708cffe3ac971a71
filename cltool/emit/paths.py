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
    """OUT.rejected beside the output ({split} dropped from the name, `emit` where it is the whole
    name); for "manifest.json", the manifest a reader of the emit finds first (`manifest_paths`):
    OUT.manifest.json, or the train file's where the files are split."""
    ext = output_extension(output)
    if suffix == "manifest.json":
        unsplit = Path(output[:-len(ext)] + ".manifest.json")
        train = manifest_paths(output, [TRAIN])[0]
        return train if "{split}" in output or (not unsplit.is_file() and train.is_file()) else unsplit
    base = output[:-len(ext)].replace("-{split}", "").replace("{split}", "emit")
    return Path(f"{base}.{suffix}")


def manifest_paths(output: str, splits: list[str] | None) -> list[Path]:
    """Where emit's manifest goes: NAME.manifest.json beside each training file it writes (each
    split's, train first, with `splits`; the one file's without), so that every file has its own
    beside it. Each holds the whole emit: every file of every split, with its checksum."""
    if not splits:
        return [Path(output[:-len(output_extension(output))] + ".manifest.json")]
    paths = []
    for name in splits:
        path = split_path(output, name)
        paths.append(path.with_name(path.name[:-len(output_extension(path.name))] + ".manifest.json"))
    return paths


def legacy_manifest(output: str) -> Path:
    """Where earlier releases of emit put the one manifest of a split emit (`emit.manifest.json` for
    `{split}.jsonl`, OUT.manifest.json for OUT-SPLIT files): removed when a split emit replaces it."""
    ext = output_extension(output)
    return Path(output[:-len(ext)].replace("-{split}", "").replace("{split}", "emit") + ".manifest.json")

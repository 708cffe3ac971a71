"""Shared helpers: tests build their own small data and run the real `cltool` process where the
behaviour under test is the process's (exit codes, stderr, stdout, pipes).

Data builders that tests of several packages use are fixtures here (`write_table`, `write_embedded`,
`random_pairs`, `fails_cleanly`); a package's own are fixtures in its conftest.py. Tests take them as
fixture arguments and never import from another test module."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.vectors import unit

# The suite embeds with torch float32 on every CPU: `--backend auto` would run OpenVINO bf16 on CPUs with
# native bf16 and torch elsewhere, so the same test would meet other vectors on another machine, and
# each fresh cache dir would pay auto's one-time probe. tests/embed/test_backend.py tests auto itself.
os.environ.setdefault("CLTOOL_BACKEND", "torch")


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    text = "".join(json.dumps(r) + "\n" for r in rows)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def read_dataset(path: Path, columns: list[str] | None = None) -> pa.Table:
    from cltool.dataset import open_dataset

    ds = open_dataset(path)
    batches = list(ds.batches(columns=columns))
    return pa.Table.from_batches(batches, schema=batches[0].schema if batches else ds.schema)


def write_task_sources(root: Path) -> Path:
    """small.jsonl (100 rows) and large.jsonl (3,000 rows, half of the positives repeated): the inputs
    of the tests that stop commands midway (test_killed, test_signals)."""
    rows = [{"anchor": f"how do I do task {i} in python", "positive": f"call do_task_{i % 1500}() with care"}
            for i in range(3000)]
    write_jsonl(root / "small.jsonl", rows[:100])
    write_jsonl(root / "large.jsonl", rows)
    return root


def manifest_of(path: Path) -> dict[str, Any]:
    """The manifest of the dataset at `path` (beside it; inside it for the old layout)."""
    from cltool.dataset.manifest import read_manifest

    manifest = read_manifest(path)
    assert manifest is not None, f"{path} has no manifest"
    return manifest


def rejected_of(path: Path) -> Path:
    """Where the dataset at `path` keeps the rows its step removed."""
    from cltool.dataset.manifest import rejected_path

    where = rejected_path(path, manifest_of(path))
    assert where is not None, f"{path} kept no rejected rows"
    return where


def removed_negatives_of(path: Path) -> Path:
    """Where filter's output at `path` keeps the negatives it removed (a part of its rejected rows)."""
    from cltool.dataset.manifest import part_path

    rejected = rejected_of(path)
    return part_path(rejected, manifest_of(rejected), "_negatives")


# cltool run with one more directory in a package's path: a module there is one of the package's, as
# a new strategy module would be (tests/emit/test_formats.py, tests/validate/test_checks.py)
_WITH_MODULE = """
import importlib, sys
importlib.import_module(sys.argv[1]).__path__.append(sys.argv[2])
from cltool.cli import main
main(sys.argv[3:])
"""


def run_cltool_with_module(package: str, directory: Path, *args: str) -> subprocess.CompletedProcess:
    """`cltool ARGS`, with the modules in `directory` added to `package` (its registry finds them)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-c", _WITH_MODULE, package, str(directory), *args], capture_output=True,
                          text=True, env=env, timeout=120)


def run_cltool(*args: str, stdin: bytes | None = None, cwd: Path | None = None,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    full_env.pop("CLTOOL_DEBUG", None) if env is None or "CLTOOL_DEBUG" not in env else None
    return subprocess.run([sys.executable, "-m", "cltool", *args], input=stdin, capture_output=True,
                          cwd=cwd, env=full_env, timeout=120)


def _write_table(path: Path, columns: dict[str, Any]) -> Path:
    from cltool.dataset.write import Output

    with Output(path, command="test", params={}) as out:
        out.write(pa.table(columns))
    return path


@pytest.fixture
def write_table():
    """`write_table(path, columns)`: the columns (lists or Arrow arrays) as a dataset at `path`; returns `path`."""
    return _write_table


def _vectors_column(vectors, metadata=None):
    vectors = np.asarray(vectors, dtype=np.float32)
    values = pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), vectors.shape[1])
    return values, metadata


def _write_embedded(path, columns, metadata=None):
    from cltool.dataset.write import Output

    arrays, fields = [], []
    for name, values in columns.items():
        if name.endswith("_embedding"):
            values = _vectors_column(values)[0]
            fields.append(pa.field(name, values.type, metadata=metadata))
        else:
            values = pa.array(values)
            fields.append(pa.field(name, values.type))
        arrays.append(values)
    with Output(path, command="test", params={}) as out:
        out.write(pa.Table.from_arrays(arrays, schema=pa.schema(fields)))
    return str(path)


@pytest.fixture
def write_embedded():
    """`write_embedded(path, columns, metadata=None)`: the columns as a dataset at `path`, each
    `*_embedding` column (vectors, one row each) as fixed-size lists of float32 with `metadata` on its
    field; returns the path as a string. tests/mine calls it `write`."""
    return _write_embedded


def _random_pairs(seed, anchors=40, repeats=10, corpus=60, dim=16):
    """Anchors with one or more positives (a repeated anchor means several), and a corpus."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.normal(size=(6, dim)))
    def near(n):
        return unit(centres[rng.integers(0, 6, n)] + rng.normal(scale=0.6, size=(n, dim)))
    anchor_vectors, positive_vectors = near(anchors), near(anchors)
    rows = list(range(anchors)) + rng.integers(0, anchors, repeats).tolist()
    pairs = {
        "anchor": [f"question {r}" for r in rows],
        "positive": [f"answer {i}" for i in range(len(rows))],
        "anchor_embedding": anchor_vectors[rows],
        "positive_embedding": np.concatenate([positive_vectors, near(repeats)]),
    }
    docs = {"id": [f"doc{i}" for i in range(corpus)], "text": [f"document {i}" for i in range(corpus)],
            "text_embedding": near(corpus)}
    return pairs, docs


@pytest.fixture
def random_pairs():
    """`random_pairs(seed, anchors=40, repeats=10, corpus=60, dim=16)`: embedded pairs and a corpus
    (column dicts for `write_embedded`), their vectors drawn around six centres: mine's input."""
    return _random_pairs


def _fails_cleanly(call) -> None:
    """`call` succeeds, or fails with an error the CLI turns into exit 1 or 2 (never 'internal error')."""
    from cltool.errors import from_environment

    try:
        call()
    except Exception as exc:  # noqa: BLE001 - what matters is how the CLI would classify it
        known = from_environment(exc)
        assert known is not None and known.exit_code in (1, 2), f"{type(exc).__name__}: {exc}"


@pytest.fixture
def fails_cleanly():
    """`fails_cleanly(call)`: the check of the hostile-input tests (test_hostile, test_properties)."""
    return _fails_cleanly


@pytest.fixture
def pairs_rows() -> list[dict[str, Any]]:
    return [
        {"anchor": "how do I sort a list", "positive": "use sorted(xs)", "lang": "py"},
        {"anchor": "how do I reverse a list", "positive": "use xs[::-1]", "lang": "py"},
        {"anchor": "how do I sort a list", "positive": "call xs.sort()", "lang": "py"},
        {"anchor": "   ", "positive": "orphan positive", "lang": "py"},
        {"anchor": "no positive here", "positive": None, "lang": "py"},
    ]


@pytest.fixture
def pairs_parquet(tmp_path: Path, pairs_rows) -> Path:
    path = tmp_path / "pairs.parquet"
    pq.write_table(pa.Table.from_pylist(pairs_rows), path)
    return path


def write_random_static_model(path: Path, dim: int) -> Path:
    """A model2vec model at `path` with random vectors over the bundled model's BERT tokenizer: a
    static model without the minute of distilling."""
    from model2vec import StaticModel
    from tokenizers import Tokenizer

    from cltool.embed.model import bundled_model_path

    tokenizer = Tokenizer.from_file(str(bundled_model_path() / "tokenizer.json"))
    vectors = np.random.default_rng(0).standard_normal((tokenizer.get_vocab_size(), dim)).astype(np.float32)
    StaticModel(vectors=vectors, tokenizer=tokenizer, normalize=True).save_pretrained(str(path))
    return path


@pytest.fixture(scope="session")
def ray_instance():
    """A local Ray instance for the engine tests, started once (a few seconds) and kept small."""
    ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'cltool[ray]'")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def chain(tmp_path_factory) -> Path:
    """60 real pairs ingested, embedded with the bundled model and mined (-n 2): what the hostile-input
    tests feed the commands."""
    root = tmp_path_factory.mktemp("chain")
    write_jsonl(root / "pairs.jsonl", [{"anchor": f"how do I do task {i} in python",
                                        "positive": f"call do_task_{i}() with care, step {i % 5}"} for i in range(60)])
    for args in (("ingest", str(root / "pairs.jsonl"), "-o", str(root / "pairs")),
                 ("embed", str(root / "pairs"), "-o", str(root / "embedded")),
                 ("mine", str(root / "embedded"), "-n", "2", "-o", str(root / "mined"))):
        result = run_cltool(*args, "-q")
        assert result.returncode == 0, result.stderr
    return root

"""The emit tests' data: a mined table written to order (`mined`, by default of mined_rows.ROWS),
rows shared in chains (`chained_rows`, what a leak-free split must keep together), and `jsonl`, the
lines of an emitted file."""

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pytest

from tests.emit.mined_rows import ROWS


def _mined(path: Path, rows=ROWS, num_negatives: int | None = 3) -> str:
    from cltool.dataset.write import Output

    table = pa.table({
        "anchor": [r[0] for r in rows],
        "positive": [r[1] for r in rows],
        "negatives": pa.array([r[2] for r in rows], pa.list_(pa.string())),
        "negative_scores": pa.array([[0.5 - 0.1 * i for i in range(len(r[2]))] for r in rows], pa.list_(pa.float32())),
        "positive_score": pa.array([0.9] * len(rows), pa.float32()),
    })
    params = {"num_negatives": num_negatives} if num_negatives else {}
    with Output(path, command="mine" if num_negatives else "test", params=params) as out:
        out.write(table)
    return str(path)


@pytest.fixture
def mined():
    """`mined(path, rows=ROWS, num_negatives=3)`: (anchor, positive, negatives) rows as a dataset
    shaped like mine's output, its manifest saying it was mined with -n `num_negatives` (a plain
    table when None); returns the path as a string."""
    return _mined


def _chained_rows(n=200):
    """Pairs whose anchors and positives are shared in chains: groups of several rows."""
    rows = []
    for i in range(n):
        group = i // 4
        rows.append((f"question {group} variant {i % 2}", f"answer {group} part {i % 3}", [f"neg {i}"]))
    return rows


@pytest.fixture
def chained_rows():
    """`chained_rows(n=200)`: rows for `mined` whose anchors and positives are shared in chains."""
    return _chained_rows


def _jsonl(path: Path) -> list[dict]:
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture
def jsonl():
    """`jsonl(path)`: the lines of a JSON-lines file (gzipped when it ends in .gz), parsed."""
    return _jsonl

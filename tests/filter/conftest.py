"""What the filter tests share: a table shaped like mine's output, and rows whose false negatives
the judges must find."""

from pathlib import Path

import pyarrow as pa

from cltool.dataset.write import Output

LONG = ("the quick brown fox jumps over the lazy dog while the farmer watches from the porch of "
        "his old wooden house at the edge of the green valley")


def mined_table(path: Path, rows: list[dict]) -> str:
    """A table shaped like mine's output (negatives with ids and scores, positive_score)."""
    table = pa.table({
        "anchor": [r["anchor"] for r in rows],
        "positive": [r["positive"] for r in rows],
        "negatives": pa.array([r["negatives"] for r in rows], pa.list_(pa.string())),
        "negative_ids": pa.array([[f"n-{t}" for t in r["negatives"]] for r in rows], pa.list_(pa.string())),
        "negative_scores": pa.array([r.get("scores", [0.5] * len(r["negatives"])) for r in rows],
                                    pa.list_(pa.float32())),
        "positive_score": pa.array([r.get("positive_score", 0.8) for r in rows], pa.float32()),
        "lang": ["en"] * len(rows),
    })
    with Output(path, command="test", params={}) as out:
        out.write(table)
    return str(path)


ROWS = [
    {"anchor": "how do I sort a list", "positive": "Use sorted(xs) to sort a list.",
     "negatives": ["to sort a list, use SORTED(xs)", "reverse a list with xs[::-1]", "lists are mutable"]},
    {"anchor": "how do I sort a list", "positive": "call xs.sort() in place",
     "negatives": ["to sort a list, use SORTED(xs)", "reverse a list with xs[::-1]", "lists are mutable"]},
    {"anchor": "tell me a story", "positive": LONG,
     "negatives": [LONG.replace("lazy", "sleepy"), "a dictionary maps keys to values"]},
]

"""What the embed tests share: a small pairs dataset of real-looking questions and answers."""

import pyarrow as pa
import pytest

from cltool.dataset.write import Output

ANCHORS = ["how do I sort a list in python", "what is a hash map", "how do I sort a list in python",
           "reverse a string", "read a file line by line", "what is a closure"]
POSITIVES = ["use sorted(xs) or xs.sort()", "a table from keys to values", "call list.sort()",
             "s[::-1]", "for line in open(path): ...", "a function that captures variables"]


@pytest.fixture
def pairs_dir(tmp_path):
    path = tmp_path / "pairs"
    with Output(path, command="test", params={}) as out:
        out.write(pa.table({"anchor": ANCHORS, "positive": POSITIVES,
                            "negatives": [["a linked list"], [], ["s.upper()", "len(s)"], [], [], []]}))
    return path

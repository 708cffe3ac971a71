"""The refill from saved candidates (cltool/filter/refill.py)."""

import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from cltool.dataset.write import Output
from cltool.filter import Settings, filter_negatives
from tests.conftest import read_dataset, removed_negatives_of


def write_embedded(path: Path, columns: dict) -> str:
    arrays, fields = [], []
    for name, values in columns.items():
        if name.endswith("_embedding"):
            values = np.asarray(values, dtype=np.float32)
            values = pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), values.shape[1])
        else:
            values = pa.array(values)
        arrays.append(values)
        fields.append(pa.field(name, values.type))
    with Output(path, command="test", params={}) as out:
        out.write(pa.Table.from_arrays(arrays, schema=pa.schema(fields)))
    return str(path)


def test_refill_takes_the_next_candidates_that_pass_mines_rules_and_the_judges(tmp_path):
    from cltool.mine import Settings as MineSettings
    from cltool.mine import mine

    def unit(x):
        x = np.asarray(x, dtype=np.float64)
        return x / np.linalg.norm(x, axis=-1, keepdims=True)

    # anchor 0 points along e0; its candidates fan out from it, the most similar first
    dim = 8
    e = np.eye(dim)
    anchor = e[0]
    positive = unit(e[0] + 0.2 * e[1])
    # docs[0] is the positive's words in another order (another match key, so mine keeps it)
    docs = ["on the list, use sorted", "lists keep their order", "tuples cannot change", "dicts map keys",
            "sets have no order"]
    doc_vectors = unit([e[0] + 0.5 * e[2], e[0] + 0.6 * e[3], e[0] + 0.8 * e[4], e[0] + 1.0 * e[5],
                        e[0] + 1.2 * e[6]])
    pairs = write_embedded(tmp_path / "pairs", {
        "anchor": ["how to sort", "unrelated question"],
        "positive": ["use sorted on the list", "an unrelated answer"],
        "anchor_embedding": [anchor, e[7]],
        "positive_embedding": [positive, unit(e[7] + 0.1 * e[6])],
    })
    corpus = write_embedded(tmp_path / "corpus", {"id": [f"d{i}" for i in range(5)], "text": docs,
                                                  "text_embedding": doc_vectors})
    mine(pairs, str(tmp_path / "mined"), MineSettings(num_negatives=2, relative_margin=None, near_duplicate=None,
                                                       range_min=0, range_max=6, sampling="top"),
         corpus=[corpus], save_candidates=str(tmp_path / "candidates"))
    mined = read_dataset(tmp_path / "mined")
    assert mined.column("negatives").to_pylist()[0] == docs[:2]

    settings = Settings(judges=("lexical",), min_negatives=2, candidates=str(tmp_path / "candidates"))
    manifest = filter_negatives(str(tmp_path / "mined"), str(tmp_path / "out"), settings)
    out = read_dataset(tmp_path / "out")
    assert out.column("negatives").to_pylist()[0] == [docs[1], docs[2]]  # docs[0] judged, docs[2] next in rank
    assert out.column("negative_ranks").to_pylist()[0] == [2, None]  # a refill has no rank in the mined list
    removed = read_dataset(removed_negatives_of(tmp_path / "out"))
    assert removed.column("negative").to_pylist() == [docs[0]]
    assert manifest["summary"]["refill"] == {"anchors_short": 1, "anchors_refilled": 1, "negatives_added": 1,
                                             "proposals_judged": 1}
    assert manifest["rows"] == {"input": 2, "output": 2, "rejected": 0}
    json.dumps(manifest)

"""filter's bi-encoder judge reads the embedding cache (after `cltool embed` with its model it encodes
nothing), and says when it is no independent judge: its model is the one the input was embedded
(and so mined) with, whose cosines are mine's scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from cltool.dataset.write import Output
from cltool.embed import Settings as EmbedSettings
from cltool.embed import embed
from cltool.filter import Settings, filter_negatives
from cltool.filter.judges.bi_encoder import BiEncoderJudge
from cltool.progress import NullReporter
from tests.conftest import read_dataset

ROWS = [
    {"anchor": "how can I sort a python list", "positive": "Use the sorted function to sort a list.",
     "negatives": ["To sort a list, use the sorted function.", "The weather in Paris is mild in spring."]},
    {"anchor": "what is a hash map", "positive": "a table from keys to values",
     "negatives": ["The weather in Paris is mild in spring.", "a list keeps its items in order"]},
]


def mined(path: Path) -> str:
    table = pa.table({
        "anchor": [r["anchor"] for r in ROWS], "positive": [r["positive"] for r in ROWS],
        "negatives": pa.array([r["negatives"] for r in ROWS], pa.list_(pa.string())),
        "negative_scores": pa.array([[0.5] * len(r["negatives"]) for r in ROWS], pa.list_(pa.float32())),
        "positive_score": pa.array([0.8] * len(ROWS), pa.float32()),
    })
    with Output(path, command="test", params={}) as out:
        out.write(table)
    return str(path)


@pytest.fixture
def embedded(tmp_path):
    """The mined rows embedded by `cltool embed` with the bundled model (anchor, positive and the
    negatives), filling the cache in tmp_path/cache."""
    embed(mined(tmp_path / "mined"), str(tmp_path / "embedded"),
          EmbedSettings(columns=["anchor", "positive", "negatives"], cache_dir=tmp_path / "cache"))
    return tmp_path / "embedded"


def test_the_bi_encoder_judge_takes_every_text_from_the_embedding_cache(tmp_path, embedded, monkeypatch):
    import cltool.embed.model as model

    monkeypatch.setattr(model.ModelSpec, "load", lambda *a, **k: pytest.fail("the model was loaded: the "
                                                                              "texts were all in the cache"))
    manifest = filter_negatives(str(embedded), str(tmp_path / "out"), Settings(judges=("bi-encoder",),
                                                                               judge_options={"ratio": 0.9}),
                                cache_dir=tmp_path / "cache")
    assert read_dataset(tmp_path / "out").column("negatives").to_pylist()[0] == [ROWS[0]["negatives"][1]]
    used = manifest["params"]["judge_models"]["bi-encoder"]["embedding_cache"]
    assert used["encoded"] == 0 and used["cache_hits"] == 2 + 5  # two anchors; two positives, three negatives
    # its scores are the cosines of the vectors embed wrote
    table = read_dataset(embedded)
    anchor = np.asarray(table.column("anchor_embedding").to_pylist()[1], dtype=np.float32)
    negative = np.asarray(table.column("negatives_embedding").to_pylist()[1][1], dtype=np.float32)
    kept = read_dataset(tmp_path / "out").to_pylist()[1]
    assert kept["negatives"][1] == ROWS[1]["negatives"][1]
    assert kept["negative_bi_encoder_scores"][1] == pytest.approx(float(anchor @ negative), abs=1e-6)


def test_a_bi_encoder_judge_with_mines_model_says_it_is_not_independent(tmp_path, embedded):
    from cltool.dataset import open_dataset

    schema = open_dataset(str(embedded)).schema
    reporter = NullReporter()
    same = BiEncoderJudge("", 0.9, None, "cpu", 32, tmp_path / "cache")
    note = same.independence(schema, reporter)
    assert note["independent"] is False and set(note["same_model_as"]) == {"anchor_embedding", "positive_embedding"}
    assert len(reporter.warnings) == 1 and "not an independent judge" in reporter.warnings[0]
    assert "its scores equal mine's" in reporter.warnings[0]
    assert same.described["independent"] is False and "not an independent judge" in same.described["note"]

    # another model's embeddings (another fingerprint in the column metadata): independent, nothing said
    import json

    from cltool.dataset.pairs import FIELD_METADATA_KEY

    field = schema.field("anchor_embedding")
    info = {**json.loads(field.metadata[FIELD_METADATA_KEY]), "model_fingerprint": "0" * 64}
    other = pa.schema([pa.field("anchor", pa.string()),
                       field.with_metadata({FIELD_METADATA_KEY: json.dumps(info)})])
    quiet = NullReporter()
    judge = BiEncoderJudge("", 0.9, None, "cpu", 32, tmp_path / "cache")
    assert judge.independence(other, quiet) is None and not quiet.warnings
    assert judge.described["independent"] is True
    # an input without embeddings says nothing either way
    assert judge.independence(pa.schema([pa.field("anchor", pa.string())]), quiet) is None and not quiet.warnings


def test_filter_warns_and_records_when_its_bi_encoder_judge_is_mines_own_model(tmp_path, embedded):
    import json

    from tests.conftest import run_cltool

    done = run_cltool("filter", str(embedded), "--judge", "bi-encoder", "-o", str(tmp_path / "out"), "--json",
                      env={"CLTOOL_CACHE_DIR": str(tmp_path / "cache")})
    assert done.returncode == 0, done.stderr.decode()
    err = done.stderr.decode()
    assert "not an independent judge" in err and "filter: the bi-encoder judge with the bundled model" in err
    summary = json.loads(done.stdout)["summary"]
    assert summary["bi-encoder_scores"]["independent"] is False
    assert "not an independent judge" in summary["bi-encoder_scores"]["note"]

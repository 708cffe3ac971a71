"""One embedding-compatibility rule (`require_comparable`), through every step where vectors (or the
scores read off them) meet: within one column everything that made the vectors must match; between
anchors and candidates the weights, dimension and normalisation must, and the prompts may differ."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cltool.dataset.columns import FIELD_METADATA_KEY
from cltool.dataset.pairs import require_comparable
from cltool.dataset.write import Output
from cltool.errors import InputError

MADE = {"model_id": "m", "model_fingerprint": "f" * 64, "dimension": 8, "normalize": True, "prompt": None}


def made(**changes):
    return {**MADE, **changes}


def test_the_rule_within_one_column_and_between_anchors_and_candidates():
    query, document = made(prompt="query: "), made(prompt="passage: ")
    require_comparable(query, document, where="anchors and candidates", same_column=False)  # prompts may differ
    with pytest.raises(InputError, match="shards cannot be compared: prompt 'query: ' vs 'passage: '"):
        require_comparable(query, document, where="shards", same_column=True)
    for changed, says in (({"normalize": False}, "normalize True vs False"), ({"dimension": 4}, "8 vs 4 dimensions"),
                          ({"model_fingerprint": "0" * 64}, "different weights")):
        for same_column in (True, False):
            with pytest.raises(InputError, match=says) as refused:
                require_comparable(MADE, made(**changed), where="x", same_column=same_column)
            assert refused.value.hint
    # vectors cltool did not make record nothing: between columns only what both record is compared ...
    require_comparable(MADE, {"dimension": 8}, where="x", same_column=False)
    with pytest.raises(InputError, match="8 vs 4 dimensions"):
        require_comparable(MADE, {"dimension": 4}, where="x", same_column=False)
    # ... within one column, a shard that records nothing was not made as one that does
    with pytest.raises(InputError, match="model_fingerprint ffffffffffff \\(m\\) vs none recorded"):
        require_comparable(MADE, {"dimension": 8}, where="x", same_column=True)
    require_comparable(None, None, where="x", same_column=True)


def _vectors(rows, seed, dim=8):
    values = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    values /= np.linalg.norm(values, axis=1, keepdims=True)
    return pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), dim)


def _embedded(texts: dict[str, list], info: dict[str, dict | None], seed=0, **other) -> pa.Table:
    """Text columns with COLUMN_embedding beside each, made as `info[COLUMN]` says (None: no metadata)."""
    arrays, fields = [], []
    for i, (column, values) in enumerate(texts.items()):
        arrays += [pa.array(values), _vectors(len(values), seed + i)]
        meta = info.get(column)
        fields += [pa.field(column, pa.string()),
                   pa.field(column + "_embedding", arrays[-1].type,
                            metadata={FIELD_METADATA_KEY: json.dumps(meta)} if meta else None)]
    for column, values in other.items():
        arrays.append(pa.array(values))
        fields.append(pa.field(column, arrays[-1].type))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _write(path, table):
    with Output(path, command="test", params={}) as out:
        out.write(table)
    return str(path)


def _pairs(anchor: dict | None = MADE, positive: dict | None = MADE, rows=6, **other) -> pa.Table:
    return _embedded({"anchor": [f"question {i}" for i in range(rows)],
                      "positive": [f"answer {i}" for i in range(rows)]}, {"anchor": anchor, "positive": positive},
                     **other)


def test_shards_of_one_column_must_be_made_alike(tmp_path):
    from cltool.dataset import open_dataset

    for name, changed in (("normalize", {"normalize": False}), ("prompt", {"prompt": "query: "})):
        folder = tmp_path / name
        folder.mkdir()
        pq.write_table(_pairs(), folder / "a.parquet")
        pq.write_table(_pairs(anchor=made(**changed)), folder / "b.parquet")
        with pytest.raises(InputError, match=f"anchor_embedding of .*b.parquet and of .*a.parquet cannot be compared: "
                                             f"{name}"):
            open_dataset(str(folder / "*.parquet"))


def test_mine_compares_anchors_with_positives_and_the_corpus_but_lets_prompts_differ(tmp_path):
    from cltool.mine import Settings, mine

    settings = Settings(num_negatives=2, range_min=0, near_duplicate=None)
    query, document = made(prompt="query: "), made(prompt="passage: ")
    corpus = _embedded({"text": [f"document {i}" for i in range(4)]}, {"text": document}, seed=5)
    mine(_write(tmp_path / "pairs", _pairs(query, document)), str(tmp_path / "ok"), settings,
         corpus=[_write(tmp_path / "corpus", corpus)])
    with pytest.raises(InputError, match="anchor_embedding and positive_embedding of .* cannot be compared: "
                                         "normalize True vs False"):
        mine(_write(tmp_path / "unnormalised", _pairs(MADE, made(normalize=False))), str(tmp_path / "x"), settings)
    other = _embedded({"text": [f"document {i}" for i in range(4)]}, {"text": made(normalize=False)}, seed=5)
    with pytest.raises(InputError, match="text_embedding of the corpus .* cannot be compared: normalize"):
        mine(_write(tmp_path / "pairs2", _pairs()), str(tmp_path / "x"), settings,
             corpus=[_write(tmp_path / "other", other)])
    assert not (tmp_path / "x").exists()


def test_saved_candidates_scored_from_other_vectors_are_refused_by_mine_and_filter(tmp_path):
    """The named fix: candidates scored from normalised vectors no longer pass against an input whose
    vectors are not (nor one with another prompt: one column, made at two times)."""
    from cltool.filter import Settings as FilterSettings
    from cltool.filter import filter_negatives
    from cltool.mine import Settings, mine

    settings = Settings(num_negatives=2, range_min=0, near_duplicate=None)
    mine(_write(tmp_path / "pairs", _pairs()), str(tmp_path / "mined"), settings,
         save_candidates=str(tmp_path / "candidates"))
    mine(str(tmp_path / "pairs"), str(tmp_path / "reused"), settings, from_candidates=str(tmp_path / "candidates"))
    for name, changed in (("normalize", {"normalize": False}), ("prompt", {"prompt": "query: "})):
        other = _write(tmp_path / name, _pairs(made(**changed), made(**changed)))
        with pytest.raises(InputError, match=f"the anchors the candidates in .* were scored with and those of .* "
                                             f"cannot be compared: {name}") as refused:
            mine(other, str(tmp_path / "x"), settings, from_candidates=str(tmp_path / "candidates"))
        assert "search again" in refused.value.hint
        mine(other, str(tmp_path / f"{name}-mined"), settings)
        with pytest.raises(InputError, match=f"cannot be compared: {name}"):
            filter_negatives(str(tmp_path / f"{name}-mined"), str(tmp_path / "x"),
                             FilterSettings(min_negatives=2, candidates=str(tmp_path / "candidates")))
    assert not (tmp_path / "x").exists()


def test_filter_pair_judges_compare_the_anchors_with_the_positives(tmp_path):
    from cltool.filter import Settings, filter_negatives

    rows = 6
    mined = _pairs(MADE, made(normalize=False), rows, negatives=[[f"answer {(i + 1) % rows}"] for i in range(rows)])
    with pytest.raises(InputError, match="anchor_embedding and positive_embedding of .* cannot be compared: normalize"):
        filter_negatives(mined, str(tmp_path / "x"), Settings(judges=("lexical",), pair_judges=("consistency",)))


def test_dedup_compares_the_input_with_the_reference(tmp_path):
    from cltool.dedup import Settings, dedup

    texts = {"positive": [f"answer {i}" for i in range(6)]}
    ours, theirs = _embedded(texts, {"positive": MADE}), _embedded(texts, {"positive": made(normalize=False)}, seed=1)
    settings = Settings(methods=("semantic",))
    dedup(ours, str(tmp_path / "ok"), settings, against=_write(tmp_path / "same", _embedded(texts, {"positive": MADE})))
    with pytest.raises(InputError, match="positive_embedding of .* and positive_embedding of the reference .* cannot "
                                         "be compared: normalize"):
        dedup(ours, str(tmp_path / "x"), settings, against=_write(tmp_path / "reference", theirs))


def test_validate_fails_mismatched_pairs_on_anchors_and_positives_that_cannot_be_compared():
    from cltool.validate import validate

    report = validate(_pairs(MADE, made(model_fingerprint="0" * 64)))
    check = next(c for c in report["checks"] if c["name"] == "mismatched_pairs")
    assert check["status"] == "fail" and "cannot be compared: different weights" in check["detail"]
    assert not report["passed"]

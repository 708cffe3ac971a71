"""`--judge cross-encoder:MODEL` (cltool/filter/judges/cross_encoder.py, scored.py) with a real, tiny,
random-weight cross-encoder built here."""

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from cltool.filter import Settings, filter_negatives
from cltool.filter.judges.scored import sign_safe_floor
from tests.conftest import read_dataset, removed_negatives_of
from tests.filter.conftest import ROWS, mined_table


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory) -> Path:
    """A random-weight BERT with one relevance output, saved as a CrossEncoder folder; it reuses
    the bundled MiniLM's vocabulary, so no download."""
    import shutil

    from transformers import BertConfig, BertForSequenceClassification

    from cltool.embed.model import bundled_model_path

    folder = tmp_path_factory.mktemp("tiny-ce")
    bundled = bundled_model_path()
    for name in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json"):
        if (bundled / name).is_file():
            shutil.copy(bundled / name, folder / name)
    vocab = sum(1 for _ in open(folder / "vocab.txt", encoding="utf-8"))
    config = BertConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, num_labels=1)
    import torch

    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(folder)
    return folder


def test_cross_encoder_judge_scores_each_pair_once_and_applies_the_sign_safe_ratio(tmp_path, tiny_cross_encoder):
    from sentence_transformers import CrossEncoder

    source = mined_table(tmp_path / "mined", ROWS)
    calls = []
    original = CrossEncoder.predict

    def counting(self, inputs, *args, **kwargs):
        calls.extend(inputs)
        return original(self, inputs, *args, **kwargs)

    CrossEncoder.predict = counting
    try:
        manifest = filter_negatives(source, str(tmp_path / "out"),
                                    Settings(judges=(f"cross-encoder:{tiny_cross_encoder}",),
                                             judge_options={"ratio": 0.9}))
    finally:
        CrossEncoder.predict = original
    assert len(calls) == len(set(calls))  # every distinct (anchor, text) once: 3 positives + 5 negatives
    assert len(calls) == 8

    reference = CrossEncoder(str(tiny_cross_encoder), device="cpu")
    out = read_dataset(tmp_path / "out")
    removed = read_dataset(removed_negatives_of(tmp_path / "out"))
    expected_removed = 0
    for anchor in ("how do I sort a list", "tell me a story"):
        rows = [r for r in ROWS if r["anchor"] == anchor]
        positive = min(reference.predict([(anchor, r["positive"]) for r in rows]))
        floor = sign_safe_floor(np.float32(positive), 0.9)
        scores = reference.predict([(anchor, n) for n in rows[0]["negatives"]])
        expected = [n for n, s in zip(rows[0]["negatives"], scores) if s < floor]
        expected_removed += len(rows[0]["negatives"]) - len(expected)  # one record per anchor, not per row
        got = out.filter(pa.compute.equal(out.column("anchor"), anchor))
        assert got.column("negatives").to_pylist()[0] == expected
        np.testing.assert_allclose(got.column("negative_ce_scores").to_pylist()[0],
                                   [s for s in scores if s < floor], rtol=1e-5)
        np.testing.assert_allclose(got.column("positive_ce_score").to_pylist(),
                                   reference.predict([(anchor, r["positive"]) for r in rows]), rtol=1e-5)
    assert removed.num_rows == manifest["summary"]["negatives"]["removed"] == expected_removed
    assert removed.num_rows == 0 or "cross_encoder_score" in removed.column_names
    assert manifest["params"]["judge_models"]["cross-encoder"]["model_path"] == str(tiny_cross_encoder)


def test_sign_safe_floor_holds_for_negative_scores():
    assert sign_safe_floor(np.float32(0.8), 0.95) == pytest.approx(0.76)
    assert sign_safe_floor(np.float32(-2.0), 0.95) == pytest.approx(-2.1)  # not -1.9, which is above the positive

"""The torch backend batches by token count for a simple model (Transformer, mean or CLS pooling over
every token, optional Normalize) and gives sentence-transformers' encode's vectors; any other model
is left to encode."""

from __future__ import annotations

import numpy as np

from cltool.embed import backend as backends
from cltool.embed.model import bundled_model_path, resolve_model, simple_pooling

TEXTS = [*backends.probe_texts()[:150], "", " ", "日本語のテキスト", "ÀÉÎ õ ß " * 3, "word " * 600,
         "\ttab\n"]


def test_a_simple_model_is_run_directly_and_gives_encodes_vectors(tmp_path):
    spec = resolve_model(None, tmp_path)
    encoder = spec.load("cpu", 32, None, normalize=True)
    assert encoder._direct is not None
    for prompt in (None, "query: "):
        ours = encoder.encode(TEXTS, prompt)
        theirs = encoder.model.encode(TEXTS, batch_size=32, prompt=prompt, normalize_embeddings=True,
                                      convert_to_numpy=True)
        assert ours.dtype == np.float32 and ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)
    assert np.array_equal(encoder.encode(TEXTS, None), encoder.encode(TEXTS, None))  # deterministic
    short = resolve_model(None, tmp_path).load("cpu", 32, 16, normalize=True)  # --max-seq-length 16
    np.testing.assert_allclose(short.encode(TEXTS[-3:], None),
                               short.model.encode(TEXTS[-3:], normalize_embeddings=True), atol=1e-6)


def test_other_models_are_left_to_encode():
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Dense, Pooling

    st = SentenceTransformer(str(bundled_model_path()), device="cpu", local_files_only=True)
    assert simple_pooling(st) == "mean"
    dense = SentenceTransformer(modules=[st[0], st[1], Dense(384, 8)], device="cpu")
    assert simple_pooling(dense) is None
    max_pooling = SentenceTransformer(modules=[st[0], Pooling(384, pooling_mode="max")], device="cpu")
    assert simple_pooling(max_pooling) is None
    without_prompt = SentenceTransformer(modules=[st[0], Pooling(384, pooling_mode="mean", include_prompt=False)],
                                         device="cpu")
    assert simple_pooling(without_prompt) is None

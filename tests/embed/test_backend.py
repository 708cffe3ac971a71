"""`--backend`: auto takes OpenVINO bf16 only on a CPU with native bf16 and once a probe has shown its
vectors match torch float32's; torch otherwise, saying why. The choice is in the manifest and the
embedding metadata, and each backend's vectors are kept apart by their fingerprint."""

import numpy as np
import pytest

from cltool.embed import Settings, embed, embedding_info
from cltool.embed import backend as backends
from cltool.errors import UsageError
from tests.conftest import read_dataset, run_cltool


def test_agreement_is_one_for_the_same_vectors_and_falls_when_neighbours_change():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(200, 16)).astype(np.float32)
    same = backends.agreement(v, v.copy())
    assert same == {"min_cosine": 1.0, "top10_overlap": 1.0}
    noisy = backends.agreement(v, v + rng.normal(scale=0.3, size=v.shape).astype(np.float32))
    assert noisy["min_cosine"] < 0.99 and noisy["top10_overlap"] < 0.9


def test_the_probe_texts_are_fixed_real_and_varied():
    texts = backends.probe_texts()
    assert len(texts) == backends.PROBE_TEXTS and len(set(texts)) == len(texts)
    assert texts == backends.probe_texts()  # the same set on every call
    lengths = sorted(len(t) for t in texts)
    assert lengths[0] >= 20 and lengths[-1] > 10 * lengths[len(lengths) // 10]


def test_a_backend_that_is_none_of_them_is_refused(monkeypatch):
    with pytest.raises(UsageError, match="--backend must be one of auto, torch, openvino"):
        Settings(backend="onnx").check()
    monkeypatch.setenv("CLTOOL_BACKEND", "fast")
    with pytest.raises(UsageError, match="not 'fast'"):
        Settings().check()
    monkeypatch.setenv("CLTOOL_BACKEND", "torch")
    settings = Settings()
    settings.check()
    assert settings.backend == "torch"


def test_auto_runs_torch_without_native_bf16_and_says_why(tmp_path, pairs_dir, monkeypatch):
    monkeypatch.setattr(backends, "native_bf16", lambda: None)
    manifest = embed(str(pairs_dir), str(tmp_path / "out"), Settings(backend="auto", cache_dir=tmp_path / "c"))
    assert manifest["params"]["backend"] == {"name": "torch", "chosen": "auto",
                                             "reason": "no native bf16 on this CPU: float32 is fastest"}
    assert manifest["params"]["model_kind"] == "sentence-transformers"
    assert not (tmp_path / "c" / "models").exists()  # nothing converted, nothing probed


def test_auto_on_this_cpu_is_faithful_to_torch_and_kept_apart(tmp_path, pairs_dir):
    """The real choice on the machine running the suite: OpenVINO where it has native bf16 (and OpenVINO
    is installed), torch elsewhere; either way within cosine 0.9999 of torch, the probe run once."""
    cache = tmp_path / "c"
    exact = embed(str(pairs_dir), str(tmp_path / "torch"), Settings(backend="torch", cache_dir=cache))
    env = {"CLTOOL_BACKEND": "auto", "CLTOOL_CACHE_DIR": str(cache)}
    done = run_cltool("embed", str(pairs_dir), "-o", str(tmp_path / "auto"), "--json", "-q", env=env)
    assert done.returncode == 0, done.stderr.decode()
    import json

    params = json.loads(done.stdout)["params"]
    try:
        import openvino  # noqa: F401
        installed = True
    except ImportError:
        installed = False
    expected = "openvino" if backends.native_bf16() and installed else "torch"
    assert params["backend"]["name"] == expected and params["backend"]["chosen"] == "auto"
    table, reference = read_dataset(tmp_path / "auto"), read_dataset(tmp_path / "torch")
    assert embedding_info(table.schema.field("anchor_embedding"))["backend"] == expected
    for column in ("anchor_embedding", "positive_embedding"):
        ours = np.asarray(table.column(column).to_pylist(), dtype=np.float32)
        theirs = np.asarray(reference.column(column).to_pylist(), dtype=np.float32)
        assert (ours * theirs).sum(1).min() >= 0.9999
    if expected == "openvino":
        probe = params["backend"]["probe"]
        assert probe["min_cosine"] >= 0.9999 and probe["top10_overlap"] >= 0.99 and probe["texts"] == 512
        assert params["model_fingerprint"] != exact["params"]["model_fingerprint"]  # the cache keeps them apart
        assert len(list((cache / "models").glob("openvino-*/probe-*.json"))) == 1
        again = run_cltool("embed", str(pairs_dir), "-o", str(tmp_path / "again"), "--json", env=env)
        assert again.returncode == 0 and "probing" not in again.stderr.decode()  # once per model and CPU
        assert json.loads(again.stdout)["summary"]["cache_hits"] > 0


def test_openvino_asked_for_a_static_model_is_refused_before_any_work():
    with pytest.raises(UsageError, match="--backend openvino runs a sentence-transformers model"):
        Settings(model="static", backend="openvino").check()


def test_openvinos_tokenizer_gives_transformers_ids_without_importing_it():
    """OpenVINO's encoder tokenizes with `tokenizers` alone (transformers' import is most of a short
    run's start-up): the same ids, mask and token types as transformers' fast tokenizer, padded and
    truncated alike, on real texts, blank ones, non-Latin ones and ones past the length. Its batches
    hold each text once, shortest first, within the token budget."""
    from cltool.embed.model import bundled_model_path
    from cltool.embed.batches import FastTokenizer, TransformersTokenizer

    texts = backends.probe_texts()[:200] + ["", " ", "日本語のテキスト", "ÀÉÎ õ ß " * 3, "word " * 600]
    for max_length in (256, 16):
        fast = FastTokenizer.of(bundled_model_path(), max_length)
        reference = TransformersTokenizer(bundled_model_path(), max_length)
        assert fast is not None
        batches = list(fast.batches(texts, 32))
        assert sorted(np.concatenate([rows for rows, _ in batches]).tolist()) == list(range(len(texts)))
        widths = [encoded["input_ids"].shape[1] for _, encoded in batches]
        assert widths == sorted(widths) and len(batches) < len(texts) / 32  # short texts go many to a batch
        for rows, ours in batches:
            assert ours["input_ids"].size <= max(32 * 128, ours["input_ids"].shape[1])
            theirs = next(reference.batches([texts[r] for r in rows.tolist()], len(rows)))[1]
            for name in ("input_ids", "attention_mask", "token_type_ids"):
                assert np.array_equal(ours[name], theirs[name]), (max_length, rows[:3], name)

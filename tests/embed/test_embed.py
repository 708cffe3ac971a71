"""embed with the real bundled all-MiniLM-L6-v2, offline."""

import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cltool.dataset.write import Output
from cltool.embed import Settings, embed, embedding_info
from cltool.embed.model import bundled_model_path, resolve_model
from cltool.errors import InputError, UsageError
from tests.conftest import read_dataset, run_cltool, manifest_of, rejected_of
from tests.embed.conftest import ANCHORS, POSITIVES

@pytest.fixture(scope="session")
def st_model():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(bundled_model_path()), device="cpu", local_files_only=True)


def vectors(table, column):
    return np.asarray(table.column(column).to_pylist(), dtype=np.float32)


def test_embeddings_equal_sentence_transformers_encode(tmp_path, pairs_dir, st_model):
    manifest = embed(str(pairs_dir), str(tmp_path / "out"),
                     Settings(cache=False, columns=["anchor", "positive", "negatives"]))
    table = read_dataset(tmp_path / "out")
    for column, texts in (("anchor", ANCHORS), ("positive", POSITIVES)):
        ours = vectors(table, f"{column}_embedding")
        reference = st_model.encode(texts, normalize_embeddings=True)
        cosine = (ours * reference).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(reference, axis=1)
        assert cosine.min() > 0.9999
    field = table.schema.field("anchor_embedding")
    assert field.type == pa.list_(pa.float32(), 384)
    info = embedding_info(field)
    assert info["dimension"] == 384 and info["model_fingerprint"] == manifest["params"]["model_fingerprint"]
    assert manifest["params"]["model_id"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert manifest["params"]["dimension"] == 384 and len(manifest["params"]["model_fingerprint"]) == 64
    # a list column gets a list of vectors, each equal to encoding that negative on its own
    negatives = table.column("negatives_embedding").to_pylist()
    assert [len(n) for n in negatives] == [1, 0, 2, 0, 0, 0]
    assert np.allclose(negatives[2][1], st_model.encode(["len(s)"], normalize_embeddings=True)[0], atol=1e-4)


def test_the_cache_embeds_each_text_once_and_only_new_texts_on_a_rerun(tmp_path, pairs_dir):
    cache = tmp_path / "cache"
    both = ["anchor", "positive", "negatives"]
    first = embed(str(pairs_dir), str(tmp_path / "one"), Settings(cache_dir=cache, columns=both))["summary"]
    assert first["texts"] == 12 + 3 and first["unique_texts"] == 14 and first["encoded"] == 14  # one anchor repeats
    second = embed(str(pairs_dir), str(tmp_path / "two"), Settings(cache_dir=cache, columns=both))["summary"]
    assert second["encoded"] == 0 and second["cache_hits"] == 14
    assert read_dataset(tmp_path / "one").equals(read_dataset(tmp_path / "two"))

    grown = tmp_path / "grown"
    with Output(grown, command="test", params={}) as out:
        out.write(pa.table({"anchor": ANCHORS + ["a brand new question"], "positive": POSITIVES + ["a new answer"]}))
    third = embed(str(grown), str(tmp_path / "three"), Settings(cache_dir=cache))["summary"]
    assert third["encoded"] == 2 and third["cache_hits"] == 5 + 6
    fresh = embed(str(grown), str(tmp_path / "fresh"), Settings(cache=False))["summary"]
    assert fresh["encoded"] == 13
    a = vectors(read_dataset(tmp_path / "three"), "anchor_embedding")
    b = vectors(read_dataset(tmp_path / "fresh"), "anchor_embedding")
    assert np.abs(a - b).max() < 1e-6


def test_float16_round_trip(tmp_path, pairs_dir):
    embed(str(pairs_dir), str(tmp_path / "f32"), Settings(cache_dir=tmp_path / "c", columns=["anchor"]))
    embed(str(pairs_dir), str(tmp_path / "f16"),
          Settings(cache_dir=tmp_path / "c", columns=["anchor"], precision="float16"))
    half = read_dataset(tmp_path / "f16")
    assert half.schema.field("anchor_embedding").type == pa.list_(pa.float16(), 384)
    assert "positive_embedding" not in half.column_names
    full = vectors(read_dataset(tmp_path / "f32"), "anchor_embedding")
    assert np.abs(vectors(half, "anchor_embedding") - full).max() < 1e-3


def test_prompts_go_to_the_model_and_into_the_cache_key(tmp_path, pairs_dir, st_model):
    cache = tmp_path / "c"
    manifest = embed(str(pairs_dir), str(tmp_path / "p"),
                     Settings(cache_dir=cache, query_prompt="query: ", document_prompt="passage: "))
    table = read_dataset(tmp_path / "p")
    expected = st_model.encode(ANCHORS, prompt="query: ", normalize_embeddings=True)
    assert np.abs(vectors(table, "anchor_embedding") - expected).max() < 1e-4
    expected = st_model.encode(POSITIVES, prompt="passage: ", normalize_embeddings=True)
    assert np.abs(vectors(table, "positive_embedding") - expected).max() < 1e-4
    assert manifest["params"]["prompts"] == {"anchor": "query: ", "positive": "passage: "}
    assert embedding_info(table.schema.field("anchor_embedding"))["prompt"] == "query: "
    plain = embed(str(pairs_dir), str(tmp_path / "plain"), Settings(cache_dir=cache))
    assert plain["summary"]["cache_hits"] == 0  # a different prompt is a different embedding


def test_blank_texts_are_rejected_not_embedded(tmp_path):
    with Output(tmp_path / "in", command="test", params={}) as out:
        out.write(pa.table({"anchor": ["ok", "  ", None], "positive": ["fine", "x", "y"]}))
    manifest = embed(str(tmp_path / "in"), str(tmp_path / "out"), Settings(cache=False))
    assert manifest["rows"] == {"input": 3, "output": 1, "rejected": 2}
    rejected = read_dataset(rejected_of(tmp_path / "out"))
    assert rejected.column("reason").to_pylist() == ["empty_text"] * 2
    assert rejected.column("detail").to_pylist() == ["anchor is null or blank"] * 2


def test_model_that_cannot_be_loaded_offline_names_what_was_tried(tmp_path):
    with pytest.raises(InputError) as err:
        resolve_model("nobody/no-such-model-here", tmp_path)
    assert "offline" in err.value.message and "tried the folder" in err.value.message
    assert "Hugging Face cache" in err.value.message


def test_a_column_that_is_not_text(tmp_path):
    pq.write_table(pa.table({"anchor": ["a"], "positive": ["p"], "n": [1]}), tmp_path / "x.parquet")
    with pytest.raises(InputError, match="column 'n' of .* is int64, not text"):
        embed(str(tmp_path / "x.parquet"), str(tmp_path / "out"), Settings(columns=["n"], cache=False))


def test_cli_embed_and_its_errors(tmp_path, pairs_dir):
    env = {"CLTOOL_CACHE_DIR": str(tmp_path / "c")}
    result = run_cltool("embed", str(pairs_dir), "-o", str(tmp_path / "out"), "--columns", "anchor", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"" and "6 rows" in result.stderr.decode() and "384 dimensions" in result.stderr.decode()
    manifest = manifest_of(tmp_path / "out")
    assert manifest["params"]["columns"] == ["anchor"] and manifest["lineage"][-1]["command"] == "test"

    bad_model = run_cltool("embed", str(pairs_dir), "-o", str(tmp_path / "bad"), "--model", "no/such-model", env=env)
    assert bad_model.returncode == 2
    err = bad_model.stderr.decode()
    assert err.startswith("error: cannot load model 'no/such-model' offline") and "Traceback" not in err
    not_text = run_cltool("embed", str(pairs_dir), "-o", str(tmp_path / "bad"), "--columns", "negatives,nope", env=env)
    assert not_text.returncode == 2 and "no column 'nope'" in not_text.stderr.decode()
    assert not (tmp_path / "bad").exists()
    for threads in ("0", "many"):  # refused even though the cache holds every text and nothing needs torch
        bad_threads = run_cltool("embed", str(pairs_dir), "-o", str(tmp_path / "bad"), "--columns", "anchor",
                                 env={**env, "CLTOOL_THREADS": threads})
        assert bad_threads.returncode == 2 and "CLTOOL_THREADS must be" in bad_threads.stderr.decode()
    assert manifest["summary"]["torch_threads"] >= 1


def test_static_fast_path(tmp_path, pairs_dir):
    cache = tmp_path / "c"
    manifest = embed(str(pairs_dir), str(tmp_path / "out"), Settings(model="static", cache_dir=cache))
    assert manifest["params"]["model_kind"] == "static" and manifest["params"]["dimension"] == 256
    table = read_dataset(tmp_path / "out")
    anchors, positives = vectors(table, "anchor_embedding"), vectors(table, "positive_embedding")
    assert np.allclose(np.linalg.norm(anchors, axis=1), 1.0, atol=1e-4)
    # a real model, not noise: each question is closest to its own answer more often than chance
    hits = ((anchors @ positives.T).argmax(1) == np.arange(len(ANCHORS))).sum()
    assert hits >= 3
    again = embed(str(pairs_dir), str(tmp_path / "again"), Settings(model="static", cache_dir=cache, cache=False))
    assert again["params"]["model_fingerprint"] == manifest["params"]["model_fingerprint"]  # built once, reused
    # a static model encodes faster than the embedding cache reads: it goes without it
    assert manifest["params"]["cache"].startswith("not used") and again["params"]["cache"] is None
    assert not (cache / "embeddings.sqlite").exists() and manifest["summary"]["cache_hits"] == 0


def test_the_model_run_by_openvino_agrees_with_torch_and_is_kept_apart(tmp_path, pairs_dir, st_model):
    """--model openvino: converted once per model, the same embeddings as sentence-transformers' torch
    encode (to cosine 0.9999), under a fingerprint of its own (cache entries and metadata apart)."""
    pytest.importorskip("openvino")
    from cltool.mine import mine

    cache = tmp_path / "c"
    torch_run = embed(str(pairs_dir), str(tmp_path / "torch"), Settings(cache_dir=cache))
    manifest = embed(str(pairs_dir), str(tmp_path / "out"), Settings(model="openvino", cache_dir=cache))
    params = manifest["params"]
    assert params["model_kind"] == "openvino" and params["dimension"] == 384
    assert params["model_fingerprint"] != torch_run["params"]["model_fingerprint"]
    assert manifest["summary"]["cache_hits"] == 0  # torch's cached vectors are not taken for OpenVINO's
    table = read_dataset(tmp_path / "out")
    for column, texts in (("anchor", ANCHORS), ("positive", POSITIVES)):
        reference = st_model.encode(texts, normalize_embeddings=True)
        assert ((vectors(table, f"{column}_embedding") * reference).sum(1) > 0.9999).all()
    assert len(list((cache / "models").glob("openvino-*"))) == 1
    again = embed(str(pairs_dir), str(tmp_path / "again"), Settings(model="openvino", cache_dir=cache))
    assert again["summary"]["cache_hits"] > 0 and again["params"]["model_fingerprint"] == params["model_fingerprint"]
    mixed = tmp_path / "mixed"  # torch's and OpenVINO's vectors are not compared
    mixed.mkdir()
    for name in ("torch", "out"):
        shutil.copy(next((tmp_path / name).glob("part-*.parquet")), mixed / f"{name}.parquet")
    with pytest.raises(InputError, match="cannot be compared: different weights"):
        mine(str(mixed / "*.parquet"), str(tmp_path / "mined"))
    with pytest.raises(UsageError, match="CPU"):
        embed(str(pairs_dir), str(tmp_path / "gpu"), Settings(model="openvino", cache_dir=cache, device="cuda",
                                                              cache=False))


def test_an_in_memory_table_is_embedded_like_its_dataset(tmp_path, pairs_dir):
    cache = tmp_path / "c"
    table = read_dataset(pairs_dir)
    from_disk = embed(str(pairs_dir), str(tmp_path / "disk"), Settings(cache_dir=cache, columns=["anchor"]))
    from_table = embed(table, str(tmp_path / "table"), Settings(cache_dir=cache, columns=["anchor"]))
    assert from_table["rows"] == from_disk["rows"] and from_table["summary"]["encoded"] == 0
    assert read_dataset(tmp_path / "table").equals(read_dataset(tmp_path / "disk"))


def test_bad_settings_are_refused_before_anything_is_read(tmp_path):
    from cltool.errors import UsageError

    missing = str(tmp_path / "no-such-input")
    for settings, message in ((Settings(precision="float64"), "--precision must be one of float32, float16"),
                              (Settings(batch_size=0), "--batch-size must be at least 1"),
                              (Settings(chunk_rows=0), "chunk_rows must be at least 1"),
                              (Settings(max_seq_length=0), "--max-seq-length must be at least 1")):
        with pytest.raises(UsageError, match=message):
            embed(missing, str(tmp_path / "out"), settings)

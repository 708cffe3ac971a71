"""Could ONNX Runtime or OpenVINO encode faster than torch at the same embeddings? (issue 17, item 2)

The bundled all-MiniLM-L6-v2 is exported with `torch.onnx.export` and run by ONNX Runtime, as fp32
and with int8 dynamic quantisation (per tensor and per channel), and by OpenVINO (the same export,
latency hint, f32 and bf16 inference precision; bf16 falls back to f32 on a CPU without it; with
`pip install nncf`, also quantised to int8 by NNCF, statically, calibrated on 1,024 other texts:
every product, or all but attention's two products of activations), against
sentence-transformers' default torch CPU encode of the same texts, the shortest first as
sentence-transformers batches them, batch 32, 2 threads. On two corpora: the stdlib docstrings and
code of examples/, and Debian's package descriptions (when apt's English description lists are
there), so int8 calibrated on stdlib texts is also judged on text it never saw. For each: texts/s
and the ratio to torch, the lowest and the mean cosine of each embedding with torch's, and the mean
overlap of the top-10 neighbours among the texts.

Why not sentence-transformers' own `backend="onnx"`: it needs `optimum` with `optimum-onnx`, whose
latest release (0.1.0) requires transformers < 4.58, which sentence-transformers 6 does not run
with (installing it downgrades transformers and breaks the environment). Needs `pip install onnx
onnxruntime` (and `openvino` for its rows, skipped without it). Run:

    HF_HUB_OFFLINE=1 .venv/bin/python bench/onnx_embed.py [--texts 3000]

Target: >= 3x torch with every cosine >= 0.99 and neighbour overlap >= 0.95, on each corpus.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import random
import tempfile
import time
from pathlib import Path

import numpy as np
from common import ROOT, debian_texts

COLUMNS = ("input_ids", "attention_mask", "token_type_ids")


def texts(count: int) -> list[str]:
    rows = [json.loads(line) for line in gzip.open(ROOT / "examples/data/stdlib-docstrings.jsonl.gz", "rt")]
    found = [t for r in rows for t in (r.get("query"), r.get("code")) if t]
    return [f"{found[i % len(found)]} ({i // len(found)})" if i >= len(found) else found[i] for i in range(count)]


def corpora(count: int) -> dict[str, list[str]]:
    """The measured texts: the first `count` stdlib texts, and `count` Debian descriptions (a seeded
    sample) where the lists are installed."""
    found = {"stdlib": texts(count)}
    debian = sorted(set(debian_texts()))
    if debian:
        found["debian"] = random.Random(0).sample(debian, min(count, len(debian)))
    return found


def onnx_runner(path: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda inputs: session.run(None, inputs)[0]


def nncf_int8(fp32: Path, out: Path, tokenizer, calibration: list[str], attention: bool) -> Path:
    """The export quantised to int8 by NNCF: static (activations too, calibrated on texts that are not
    the measured ones, the transformer scheme with SmoothQuant) for OpenVINO. Without `attention`, the
    two products of activations in each attention (query x key, scores x value) stay unquantised."""
    import nncf
    import openvino as ov

    batches = [calibration[i:i + 8] for i in range(0, len(calibration), 8)]

    def inputs(texts: list[str]) -> dict[str, np.ndarray]:
        encoded = tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="np")
        return {k: encoded[k].astype(np.int64) for k in COLUMNS}

    model = ov.Core().read_model(str(fp32))
    scores = [op.get_friendly_name() for op in model.get_ops() if op.get_type_name() == "MatMul"
              and op.get_friendly_name().endswith(("self/MatMul", "self/MatMul_1"))]
    quantised = nncf.quantize(model, nncf.Dataset(batches, inputs), model_type=nncf.ModelType.TRANSFORMER,
                              subset_size=len(batches),
                              ignored_scope=None if attention else nncf.IgnoredScope(names=scores))
    ov.save_model(quantised, str(out))
    return out


def openvino_runner(path: Path, precision: str):
    import openvino as ov

    core = ov.Core()
    compiled = core.compile_model(core.read_model(str(path)), "CPU", {
        "PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": 2, "INFERENCE_PRECISION_HINT": precision})
    return lambda inputs: compiled(inputs)[0]


def encode(run, tokenizer, batch: list[str], size: int = 32) -> np.ndarray:
    out = np.zeros((len(batch), 384), dtype=np.float32)
    order = np.argsort([len(t) for t in batch])
    for start in range(0, len(batch), size):
        rows = order[start:start + size]
        encoded = tokenizer([batch[i] for i in rows], padding=True, truncation=True, max_length=256,
                            return_tensors="np")
        hidden = run({k: encoded[k].astype(np.int64) for k in COLUMNS})
        mask = encoded["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)  # mean pooling, as the model's own
        out[rows] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
    return out


def neighbours(x: np.ndarray) -> np.ndarray:
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    return np.argsort(-sims, axis=1)[:, :10]


def main() -> None:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer

    from cltool.embed.cache import default_cache_dir
    from cltool.embed.model import resolve_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=3000)
    args = parser.parse_args()
    measured = corpora(args.texts)
    if "debian" not in measured:
        print("debian: no description lists (apt-get update -o Acquire::Languages=en), measured on stdlib only")
    torch.set_num_threads(2)
    model = SentenceTransformer(str(resolve_model(None, default_cache_dir()).path), device="cpu")
    reference, torch_s = {}, {}
    for name, batch in measured.items():
        started = time.perf_counter()
        reference[name] = model.encode(batch, batch_size=32, normalize_embeddings=True)
        torch_s[name] = time.perf_counter() - started
        print(f"torch (sentence-transformers encode), {name}: {len(batch) / torch_s[name]:,.0f} texts/s")
    reference_neighbours = {name: neighbours(vectors) for name, vectors in reference.items()}

    class Hidden(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    with tempfile.TemporaryDirectory() as tmp:
        fp32, per_tensor, per_channel = (Path(tmp) / f"{name}.onnx" for name in ("fp32", "int8", "int8-channel"))
        sample = model.tokenizer(measured["stdlib"][:4], padding=True, return_tensors="pt")
        torch.onnx.export(Hidden(model[0].auto_model.eval()), tuple(sample[k] for k in COLUMNS), str(fp32),
                          input_names=list(COLUMNS), output_names=["hidden"], opset_version=17, dynamo=False,
                          dynamic_axes={k: {0: "batch", 1: "tokens"} for k in (*COLUMNS, "hidden")})
        quantize_dynamic(str(fp32), str(per_tensor), weight_type=QuantType.QInt8)
        quantize_dynamic(str(fp32), str(per_channel), weight_type=QuantType.QInt8, per_channel=True)
        print(f"\n{'variant':<22}{'corpus':<8}{'texts/s':>9}{'x torch':>9}{'min cos':>9}{'mean cos':>10}"
              f"{'top-10':>8}")
        runners = [("onnx fp32", lambda: onnx_runner(fp32)), ("onnx int8", lambda: onnx_runner(per_tensor)),
                   ("onnx int8 per channel", lambda: onnx_runner(per_channel))]
        if importlib.util.find_spec("openvino") is not None:
            runners += [(f"openvino {p}", lambda p=p: openvino_runner(fp32, p)) for p in ("f32", "bf16")]
            if importlib.util.find_spec("nncf") is not None:
                calibration = texts(args.texts + 1024)[args.texts:]
                for label, attention in (("all", True), ("no attn", False)):
                    runners.append((f"ov int8 {label} bf16", lambda a=attention: openvino_runner(nncf_int8(
                        fp32, Path(tmp) / f"int8-{a}.xml", model.tokenizer, calibration, a), "bf16")))
            else:
                print("nncf: not installed (pip install nncf), its int8 rows are skipped")
        else:
            print("openvino: not installed (pip install openvino), its rows are skipped")
        for label, make in runners:
            run = make()
            for name, batch in measured.items():
                started = time.perf_counter()
                vectors = encode(run, model.tokenizer, batch)
                seconds = time.perf_counter() - started
                cosine = (vectors * reference[name]).sum(axis=1)
                overlap = np.mean([len(set(a) & set(b)) / 10
                                   for a, b in zip(neighbours(vectors), reference_neighbours[name])])
                print(f"{label:<22}{name:<8}{len(batch) / seconds:>9,.0f}{torch_s[name] / seconds:>9.2f}"
                      f"{cosine.min():>9.4f}{cosine.mean():>10.5f}{overlap:>8.3f}")
    print("target: >= 3x torch, every cosine >= 0.99, top-10 overlap >= 0.95, on each corpus")


if __name__ == "__main__":
    main()

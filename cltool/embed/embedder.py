"""Texts to vectors through the embedding cache: each distinct text once, only the misses encoded."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cltool.embed.cache import EmbeddingCache, space_key, text_keys
from cltool.embed.model import Encoder, ModelSpec
from cltool.errors import InputError
from cltool.progress import NullReporter, Reporter

# texts per encode call, each slice committed to the cache as soon as it is encoded (so a killed run
# keeps what it embedded) and moving the progress bar: this many batches, at most ENCODE_SLICE texts
ENCODE_SLICE = 1_024
SLICE_BATCHES = 8


class Embedder:
    """Texts -> float32 vectors through the cache; the model is loaded at the first miss.

    `cache` may be set (and unset) between calls: filter's paraphrase judge opens it only while encoding."""

    def __init__(self, spec: ModelSpec, cache: EmbeddingCache | None, load, normalize: bool, max_seq_length,
                 reporter: Reporter | None = None, batch_size: int | None = None):
        self.spec, self.cache, self._load = spec, cache, load
        self.normalize, self.max_seq_length = normalize, max_seq_length
        self.reporter = reporter if reporter is not None else NullReporter()
        self.slice = min(ENCODE_SLICE, SLICE_BATCHES * batch_size) if batch_size else ENCODE_SLICE
        self.encoder: Encoder | None = None
        self.dimension: int | None = None
        self.texts = self.unique = self.cache_hits = self.encoded = 0
        self.encode_seconds = 0.0
        self.load_seconds = 0.0  # loading the model, at the first miss
        self.on_encoded = lambda n: None

    def load(self) -> Encoder:
        """The model, loaded once (it says so first: loading can take a while)."""
        if self.encoder is None:
            spec = self.spec
            self.reporter.info(f"loading model {spec.model_id} ({spec.kind}) from {spec.path}")
            began = time.perf_counter()
            self.encoder = self._load()
            self.load_seconds += time.perf_counter() - began
        return self.encoder

    @property
    def threads(self) -> int | None:
        """torch's threads in this process, once the model is loaded (a static model has none)."""
        return getattr(self.encoder, "threads", None)

    def __call__(self, texts: list[str], prompt: str | None) -> np.ndarray:
        space = space_key(self.spec.fingerprint, prompt or "", self.normalize, self.max_seq_length)
        keys = text_keys(space, texts)
        first_of: dict[bytes, int] = {}
        for i, key in enumerate(keys):
            first_of.setdefault(key, i)
        unique_keys = list(first_of)
        found = self.cache.get(unique_keys) if self.cache is not None else {}
        missing = [k for k in unique_keys if k not in found]
        if missing:
            self.load()
            missing.sort(key=lambda k: len(texts[first_of[k]]))  # length-sorted, so batches carry little padding
            for start in range(0, len(missing), self.slice):
                part = missing[start:start + self.slice]
                began = time.perf_counter()
                vectors = self.encoder.encode([texts[first_of[k]] for k in part], prompt)
                self.encode_seconds += time.perf_counter() - began
                found.update(zip(part, vectors))
                if self.cache is not None:
                    self.cache.put(part, vectors)
                self.on_encoded(len(part))
        self.texts += len(texts)
        self.unique += len(unique_keys)
        self.cache_hits += len(unique_keys) - len(missing)
        self.encoded += len(missing)
        if not keys:
            return np.zeros((0, self.dimension or 0), dtype=np.float32)
        out = np.stack([found[k] for k in keys]).astype(np.float32, copy=False)
        if self.dimension is None:
            self.dimension = out.shape[1]
        elif out.shape[1] != self.dimension:
            where = self.cache.path if self.cache is not None else "the embedding cache"
            raise InputError(f"{where} holds vectors of {out.shape[1]} dimensions for a "
                             f"{self.dimension}-dimensional model",
                             hint=f"run with --no-cache, or delete {where}")
        return out


    def encode_every(self, texts: list[str], prompt: str | None, rows: int) -> np.ndarray:
        """Every text encoded, without the cache and without finding the repeats (for a model that
        encodes faster than either: a static one), `rows` at a time into one matrix."""
        encoder = self.load()
        out = np.zeros((0, self.dimension or 0), dtype=np.float32)
        began = time.perf_counter()
        for start in range(0, len(texts), rows):
            vectors = encoder.encode(texts[start:start + rows], prompt)
            if not start:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[start:start + len(vectors)] = vectors
        self.encode_seconds += time.perf_counter() - began
        self.texts += len(texts)
        self.encoded += len(texts)
        self.dimension = out.shape[1] if len(texts) else self.dimension
        return out


class TextVectors:
    """Vectors of texts known by index (filter's `Work.texts`, or its anchors), each embedded once,
    through the embedding cache, opened only while encoding: after `cltool embed` with the same model,
    prompt and normalisation, nothing is encoded again (a static model goes without the cache).
    Several share one `Embedder` (one model)."""

    def __init__(self, embedder: Embedder, cache_dir: Path | None, prompt: str | None):
        self.embedder, self.cache_dir, self.prompt = embedder, cache_dir, prompt
        self._vectors: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._vectors)

    def of(self, texts: Sequence[str], indices: Sequence[int]) -> np.ndarray:
        """The vectors of texts[i] for i in indices, in that order (rows of a float32 matrix)."""
        todo = [i for i in dict.fromkeys(indices) if i not in self._vectors]
        if todo:
            opened = (self.embedder.cache is None and self.cache_dir is not None
                      and not self.embedder.spec.encodes_faster_than_the_cache)
            if opened:
                self.embedder.cache = EmbeddingCache(self.cache_dir, self.embedder.reporter)
            try:
                self._vectors.update(zip(todo, self.embedder([texts[i] for i in todo], self.prompt)))
            finally:
                if opened:
                    if not self.embedder.cache.usable or not self.embedder.cache.writable:
                        self.cache_dir = None  # it gave up (locked, unwritable): not waited for again
                    self.embedder.cache.close()
                    self.embedder.cache = None
        if not len(indices):
            return np.empty((0, self.embedder.dimension or 0), dtype=np.float32)
        return np.stack([self._vectors[i] for i in indices])


def query_and_document_vectors(model: str, device: str, batch_size: int, cache_dir: Path | None,
                               reporter: Reporter | None = None
                               ) -> tuple[ModelSpec, Embedder, TextVectors, TextVectors]:
    """One model (a path or name; "" for the bundled one) with its anchors' and its texts' vectors, under
    the key `cltool embed` gives them by default (normalised, the model's sequence length, each side's
    prompt), so after `cltool embed` with the same model nothing is encoded again."""
    from cltool.embed.backend import model_on_backend

    spec = model_on_backend(model or None, device, cache_dir)
    embedder = Embedder(spec, None, lambda: spec.load(device, batch_size, None, normalize=True), True,
                        spec.max_seq_length, reporter=reporter, batch_size=batch_size)
    return (spec, embedder, TextVectors(embedder, cache_dir, spec.prompts.get("query")),
            TextVectors(embedder, cache_dir, spec.prompts.get("document")))

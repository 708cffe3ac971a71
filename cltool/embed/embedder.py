"""Texts to vectors through the embedding cache: each distinct text once, only the misses encoded."""

from __future__ import annotations

import time

import numpy as np

from cltool.embed.cache import EmbeddingCache, space_key, text_keys
from cltool.embed.model import Encoder, ModelSpec
from cltool.errors import InputError

ENCODE_SLICE = 1_024  # texts per encode call: progress moves, and a killed run keeps what it embedded


class Embedder:
    """Texts -> float32 vectors through the cache; the model is loaded at the first miss.

    `cache` may be set (and unset) between calls: filter's paraphrase judge opens it only while encoding."""

    def __init__(self, spec: ModelSpec, cache: EmbeddingCache | None, load, normalize: bool, max_seq_length):
        self.spec, self.cache, self._load = spec, cache, load
        self.normalize, self.max_seq_length = normalize, max_seq_length
        self.encoder: Encoder | None = None
        self.dimension: int | None = None
        self.texts = self.unique = self.cache_hits = self.encoded = 0
        self.encode_seconds = 0.0
        self.on_encoded = lambda n: None

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
            if self.encoder is None:
                self.encoder = self._load()
            missing.sort(key=lambda k: len(texts[first_of[k]]))  # length-sorted, so batches carry little padding
            for start in range(0, len(missing), ENCODE_SLICE):
                part = missing[start:start + ENCODE_SLICE]
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
            raise InputError(f"the embedding cache holds vectors of {out.shape[1]} dimensions for a "
                             f"{self.dimension}-dimensional model",
                             hint="run with --no-cache, or clear CLTOOL_CACHE_DIR")
        return out

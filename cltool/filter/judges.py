"""The judges of `cltool filter`: each says, for (anchor, negative) pairs, whether the negative is
really a positive, by a signal the miner did not use.

All judges see the same `Work`: the anchors, the unique texts (by id) and each anchor's
positives as indices into those texts. A judge scores a batch of (anchor, text) pairs and returns
a flag and a score per pair; it may be called again with more pairs (refill), so what it computes
once per anchor (the positives' scores) it keeps.

  cross-encoder:MODEL  rescores (anchor, text) jointly; false when the negative scores within
                       (1 - ratio) of the anchor's lowest positive (sign-safe), or above --max-score
  bi-encoder:MODEL     the same rule on the cosine of another embedding model
  paraphrase[:MODEL]   the cosine of the negative and a positive under an embedding model (the bundled
                       one by default): a paraphrase of a positive is a false negative (mine's
                       --near-duplicate rule, for negatives that mine did not choose)
  lexical              Jaccard of the normalised word sets of the negative and a positive
  duplicate-cluster    the negative and a positive fall in one near-duplicate cluster (MinHash
                       here, or the links of a `cltool dedup` output)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from cltool.errors import InputError, UsageError

JUDGES = ("cross-encoder", "bi-encoder", "paraphrase", "lexical", "duplicate-cluster")
LEXICAL_NORMALIZATION = ("nfkc", "case", "whitespace", "punctuation")


@dataclass
class Work:
    """What every judge reads: anchors, unique texts, and each anchor's positives (CSR)."""

    anchor_texts: list[str]
    texts: list[str]
    text_ids: list[str]
    positive_offsets: np.ndarray  # positives of anchor a: positive_texts[positive_offsets[a]:positive_offsets[a + 1]]
    positive_texts: np.ndarray  # indices into texts

    def positives_of(self, anchor: int) -> np.ndarray:
        return self.positive_texts[self.positive_offsets[anchor]:self.positive_offsets[anchor + 1]]


@dataclass
class Verdict:
    flags: np.ndarray  # bool per pair: a false negative
    scores: np.ndarray  # float32 per pair: the judge's score of the negative (NaN where it has none)
    reference: np.ndarray  # float32 per pair: what it was compared with (the positive's score, or NaN)


def sign_safe_floor(positive: np.ndarray, ratio: float) -> np.ndarray:
    """The score at or above which a negative counts as a positive: ratio x positive, made sign-safe
    (positive - |positive| x (1 - ratio)), so that a negative score cannot flip the rule."""
    return positive - np.abs(positive) * (1.0 - ratio)


@dataclass
class _ScoreJudge:
    """A judge that scores pairs with a model and compares with the anchor's lowest positive."""

    name: str
    ratio: float
    max_score: float | None
    positive_scores: np.ndarray | None = None  # per entry of Work.positive_texts
    lowest: np.ndarray | None = None  # per anchor
    described: dict[str, Any] = field(default_factory=dict)

    def prepare(self, work: Work) -> None:
        anchors = np.repeat(np.arange(len(work.anchor_texts)), np.diff(work.positive_offsets))
        self.positive_scores = self.score(work, anchors, work.positive_texts)
        self.lowest = np.full(len(work.anchor_texts), np.nan, dtype=np.float32)
        has = np.diff(work.positive_offsets) > 0
        if has.any():  # positives are stored anchor by anchor (CSR): one reduction per anchor's slice
            self.lowest[has] = np.minimum.reduceat(self.positive_scores, work.positive_offsets[:-1][has])

    def judge(self, work: Work, pair_anchor: np.ndarray, pair_text: np.ndarray) -> Verdict:
        scores = self.score(work, pair_anchor, pair_text)
        reference = self.lowest[pair_anchor]
        flags = scores >= sign_safe_floor(reference, self.ratio)  # an anchor without positives: NaN, never
        if self.max_score is not None:
            flags |= scores >= self.max_score
        return Verdict(flags, scores, reference)

    @property
    def pairs_scored(self) -> int:
        """Distinct (anchor, text) pairs the model scored."""
        raise NotImplementedError

    def score(self, work: Work, pair_anchor: np.ndarray, pair_text: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class CrossEncoderJudge(_ScoreJudge):
    """A sentence-transformers CrossEncoder over (anchor, text); each distinct pair scored once."""

    def __init__(self, name: str, ratio: float, max_score: float | None, device: str, batch_size: int):
        super().__init__("cross-encoder", ratio, max_score)
        from cltool.embed.model import fingerprint, model_folder, offline

        offline()
        path, model_id = model_folder(name)
        _require_cross_encoder(name, path)
        self.described = {"model": name, "model_id": model_id, "model_path": str(path),
                          "model_fingerprint": fingerprint(path)}
        import torch
        from sentence_transformers import CrossEncoder

        if device.startswith("cuda") and not torch.cuda.is_available():
            raise UsageError("--device cuda, but torch sees no CUDA device", hint="use --device cpu")
        try:
            self.model = CrossEncoder(str(path), device=device, local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - whatever the loader says, the user needs to know which model
            raise InputError(f"cannot load cross-encoder {name!r} from {path}: {type(exc).__name__}: {exc}",
                             hint="pass the folder of a saved sentence-transformers CrossEncoder") from None
        self.batch_size = batch_size
        self._cache: dict[tuple[int, int], float] = {}

    @property
    def pairs_scored(self) -> int:
        return len(self._cache)

    def score(self, work: Work, pair_anchor: np.ndarray, pair_text: np.ndarray) -> np.ndarray:
        keys = list(zip(pair_anchor.tolist(), pair_text.tolist()))
        todo = list(dict.fromkeys(k for k in keys if k not in self._cache))
        if todo:
            # sorted by length, so a batch pads to similar lengths (the largest saving on CPU)
            todo.sort(key=lambda k: len(work.anchor_texts[k[0]]) + len(work.texts[k[1]]))
            inputs = [(work.anchor_texts[a], work.texts[t]) for a, t in todo]
            scores = self.model.predict(inputs, batch_size=self.batch_size, show_progress_bar=False,
                                        convert_to_numpy=True)
            scores = np.asarray(scores, dtype=np.float32)
            if scores.ndim != 1:
                raise InputError(f"cross-encoder {self.described['model']!r} gives {scores.shape[-1]} scores per pair",
                                 hint="use a cross-encoder with a single relevance output (num_labels=1)")
            self._cache.update(zip(todo, scores.tolist()))
        return np.array([self._cache[k] for k in keys], dtype=np.float32)


def _require_cross_encoder(name: str, path: Path) -> None:
    """A bi-encoder folder would load as a CrossEncoder with a fresh, random head: refuse it."""
    import json

    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InputError(f"cross-encoder {name!r}: {path} has no readable config.json",
                         hint="pass the folder of a saved sentence-transformers CrossEncoder") from None
    architectures = config.get("architectures") or []
    if not any(a.endswith("ForSequenceClassification") for a in architectures):
        raise InputError(f"{name!r} ({path}) is not a cross-encoder: its architecture is "
                         f"{', '.join(architectures) or 'not stated'}, with no classification head",
                         hint="an embedding model belongs to --judge bi-encoder:MODEL")


class BiEncoderJudge(_ScoreJudge):
    """The cosine of another embedding model (or the same one, re-embedded), each text embedded once."""

    def __init__(self, name: str, ratio: float, max_score: float | None, device: str, batch_size: int,
                 cache_dir: Path):
        super().__init__("bi-encoder", ratio, max_score)
        from cltool.embed.model import resolve_model

        spec = resolve_model(name or None, cache_dir)
        self.described = spec.describe()
        self.encoder = spec.load(device, batch_size, None, normalize=True)
        self.prompts = spec.prompts
        self._anchors: np.ndarray | None = None
        self._texts: dict[int, np.ndarray] = {}

    @property
    def pairs_scored(self) -> int:
        return len(self._texts) + (len(self._anchors) if self._anchors is not None else 0)

    def score(self, work: Work, pair_anchor: np.ndarray, pair_text: np.ndarray) -> np.ndarray:
        if self._anchors is None:
            self._anchors = self.encoder.encode(work.anchor_texts, self.prompts.get("query"))
        todo = [t for t in dict.fromkeys(pair_text.tolist()) if t not in self._texts]
        if todo:
            vectors = self.encoder.encode([work.texts[t] for t in todo], self.prompts.get("document"))
            self._texts.update(zip(todo, vectors))
        if not len(pair_text):
            return np.empty(0, dtype=np.float32)
        texts = np.stack([self._texts[t] for t in pair_text.tolist()])
        return np.einsum("ij,ij->i", self._anchors[pair_anchor], texts).astype(np.float32)


def _best_of_positives(work: Work, pair_anchor: np.ndarray, pair_text: np.ndarray, similarity) -> np.ndarray:
    """Per pair, the highest similarity(texts, positives) of the negative with one of its anchor's
    positives; NaN for an anchor without positives."""
    counts = np.diff(work.positive_offsets)[pair_anchor]
    left = np.repeat(pair_text, counts)
    right = np.concatenate([work.positives_of(a) for a in pair_anchor.tolist()]) if len(pair_anchor) else left
    values = similarity(left.astype(np.int64), right.astype(np.int64))
    best = np.full(len(pair_text), np.nan, dtype=np.float32)
    has = counts > 0
    if has.any():
        best[has] = np.maximum.reduceat(values, np.concatenate([[0], np.cumsum(counts)[:-1]])[has])
    return best


class ParaphraseJudge:
    """The negative's highest cosine with one of the anchor's positives, under an embedding model
    (the bundled one by default). Word overlap and MinHash never see a paraphrase; this does: on the
    known false negatives of bench/outcome.py's two real sets it separated false from true negatives
    with an AUC of 0.95 (Debian) and 0.81 (man pages). Texts are embedded through the embedding
    cache, so after `cltool embed` with the same model nothing is encoded again."""

    name = "paraphrase"

    def __init__(self, model: str, threshold: float, device: str, batch_size: int, cache_dir: Path):
        from cltool.embed import _Embedder
        from cltool.embed.model import resolve_model

        spec = resolve_model(model or None, cache_dir)
        self.threshold = threshold
        self.described = {**spec.describe(), "threshold": threshold}
        self.prompt = spec.prompts.get("document")
        self._cache_dir = cache_dir  # the embedding cache is opened while encoding only
        self._embed = _Embedder(spec, None, lambda: spec.load(device, batch_size, None, normalize=True), True,
                                spec.max_seq_length)
        self._vectors: dict[int, np.ndarray] = {}

    def prepare(self, work: Work) -> None:
        pass  # texts are embedded as pairs arrive (a refill brings new ones)

    def _cosines(self, work: Work, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        from cltool.embed.cache import EmbeddingCache

        todo = [t for t in dict.fromkeys(np.concatenate([left, right]).tolist()) if t not in self._vectors]
        if todo:
            self._embed.cache = EmbeddingCache(self._cache_dir)
            try:
                self._vectors.update(zip(todo, self._embed([work.texts[t] for t in todo], self.prompt)))
            finally:
                self._embed.cache.close()
                self._embed.cache = None
        if not len(left):
            return np.empty(0, dtype=np.float32)
        a = np.stack([self._vectors[t] for t in left.tolist()])
        b = np.stack([self._vectors[t] for t in right.tolist()])
        return np.einsum("ij,ij->i", a, b).astype(np.float32)

    def judge(self, work: Work, pair_anchor: np.ndarray, pair_text: np.ndarray) -> Verdict:
        best = _best_of_positives(work, pair_anchor, pair_text, lambda left, right: self._cosines(work, left, right))
        return Verdict(best >= self.threshold, best, np.full(len(pair_text), self.threshold, dtype=np.float32))


class LexicalJudge:
    """Jaccard similarity of word sets (after NFKC, case folding, whitespace and punctuation
    normalisation) between the negative and each positive; the highest counts. Exact, on hashed
    word sets: cheaper than MinHash here, where each text meets only its anchor's few positives."""

    name = "lexical"

    def __init__(self, threshold: float):
        self.threshold = threshold
        self.described = {"threshold": threshold, "shingles": "words", "normalization": list(LEXICAL_NORMALIZATION)}
        self._sets: tuple[np.ndarray, np.ndarray] | None = None
        self._size = -1

    def prepare(self, work: Work) -> None:
        from cltool.dedup.near import utf8_buffers
        from cltool.dedup.text import normalize
        from cltool.kernels.minhash import WORD, shingle_sets

        data, offsets = utf8_buffers(normalize(pa.array(work.texts, pa.large_string()), LEXICAL_NORMALIZATION))
        self._sets = shingle_sets(data, offsets, 1, WORD)
        self._size = len(work.texts)

    def judge(self, work: Work, pair_anchor: np.ndarray, pair_text: np.ndarray) -> Verdict:
        from cltool.kernels.minhash import jaccard_pairs

        if self._size != len(work.texts):  # a refill brought new texts
            self.prepare(work)

        best = _best_of_positives(work, pair_anchor, pair_text,
                                  lambda left, right: jaccard_pairs(*self._sets, left, right))
        return Verdict(best >= self.threshold, best, np.full(len(pair_text), np.nan, dtype=np.float32))


class ClusterJudge:
    """Near-duplicate clusters over the positives and negatives (MinHash + LSH, verified by true
    Jaccard, as `cltool dedup --method minhash`), or the duplicate links of a `cltool dedup` output."""

    name = "duplicate-cluster"

    def __init__(self, threshold: float, ngram: int, num_perm: int, seed: int, clusters_from: str | None):
        self.threshold, self.ngram, self.num_perm, self.seed = threshold, ngram, num_perm, seed
        self.clusters_from = clusters_from
        self.described = ({"from": clusters_from} if clusters_from else
                          {"threshold": threshold, "ngram": ngram, "num_perm": num_perm, "seed": seed})
        self._cluster: np.ndarray | None = None
        self._size = -1

    def prepare(self, work: Work) -> None:
        self._size = len(work.texts)
        if self.clusters_from:
            self._cluster = _clusters_from_dedup(self.clusters_from, work.text_ids)
            return
        from cltool.dedup.near import lsh_params, near_duplicates
        from cltool.dedup.text import DEFAULT_NORMALIZATION, normalize

        texts = normalize(pa.array(work.texts, pa.large_string()), DEFAULT_NORMALIZATION)
        found = near_duplicates(texts, threshold=self.threshold, ngram=self.ngram, char_ngrams=False,
                                num_perm=self.num_perm, seed=self.seed,
                                params=lsh_params(self.threshold, self.num_perm))
        self._cluster = np.arange(len(work.texts), dtype=np.int64)
        self._cluster[found.removed] = found.duplicate_of  # each duplicate points at the kept text it matches

    def judge(self, work: Work, pair_anchor: np.ndarray, pair_text: np.ndarray) -> Verdict:
        if self._size != len(work.texts):  # a refill brought new texts
            self.prepare(work)
        own = self._cluster[pair_text]
        flags = np.array([bool(np.isin(own[i], self._cluster[work.positives_of(a)]))
                          for i, a in enumerate(pair_anchor.tolist())], dtype=bool)
        nan = np.full(len(pair_text), np.nan, dtype=np.float32)
        return Verdict(flags, nan, nan)


def _clusters_from_dedup(source: str, text_ids: list[str]) -> np.ndarray:
    """Cluster labels for text_ids from the rows a `cltool dedup` output removed: each removed row
    (its id column) and the id it duplicates (`duplicate_of`) are one cluster, transitively."""
    from cltool.dataset.manifest import REJECTED_DIR
    from cltool.dataset.read import open_dataset

    dataset = open_dataset(source)
    if (dataset.manifest or {}).get("command") != "dedup":
        raise InputError(f"{source} was not written by cltool dedup", hint="give the output directory of cltool dedup")
    rejected = open_dataset(Path(source) / REJECTED_DIR)
    id_column = next((c for c in ("id", "positive_id", "text_id", "anchor_id") if c in rejected.schema.names), None)
    if id_column is None or "duplicate_of" not in rejected.schema.names:
        raise InputError(f"{source}/{REJECTED_DIR} has no id and duplicate_of columns to read clusters from",
                         hint="dedup a table with an id column (a corpus, or pairs with positive_id)")
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    for batch in rejected.batches([id_column, "duplicate_of"]):
        for left, right in zip(batch.column(0).to_pylist(), batch.column(1).to_pylist()):
            if left is not None and right is not None:
                a, b = root(left), root(right)
                if a != b:
                    parent[a] = b
    labels: dict[str, int] = {}
    out = np.empty(len(text_ids), dtype=np.int64)
    for i, tid in enumerate(text_ids):
        out[i] = labels.setdefault(root(tid), len(labels))
    return out


def parse_judges(specs: list[str]) -> list[tuple[str, str]]:
    """`cross-encoder:PATH`, `bi-encoder[:MODEL]`, `paraphrase[:MODEL]`, `lexical`, `duplicate-cluster` ->
    (kind, argument)."""
    out = []
    for spec in specs:
        kind, _, argument = spec.partition(":")
        kind = kind.strip().lower()
        if kind not in JUDGES:
            raise UsageError(f"unknown judge {spec!r}; judges: cross-encoder:MODEL, bi-encoder[:MODEL], "
                             "paraphrase[:MODEL], lexical, duplicate-cluster")
        if kind == "cross-encoder" and not argument:
            raise UsageError("--judge cross-encoder needs a model: cross-encoder:PATH_OR_NAME",
                             hint="cltool ships no cross-encoder; pass the folder of one you have")
        if kind in ("lexical", "duplicate-cluster") and argument:
            raise UsageError(f"--judge {kind} takes no argument (its thresholds are options), not {spec!r}")
        out.append((kind, argument))
    if len({k for k, _ in out}) != len(out):
        raise UsageError("each judge may be given once")
    return out

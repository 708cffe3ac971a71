"""The fast CPU path: a static embedding model distilled locally from a sentence-transformers model.

The recipe is model2vec's (Tulkens & van Dongen, 2024): embed every token of the model's
vocabulary on its own (`[CLS] token [SEP]`, mean-pooled), reduce with PCA to 256 dimensions, and
down-weight frequent tokens with SIF weights estimated from Zipf's law. A text's embedding is then
the mean of its tokens' vectors: no transformer at inference, hundreds of times faster on a CPU,
at some cost in quality (the benchmark reports the overlap of nearest neighbours with the full
model).

The distillation is done here rather than with `model2vec.distill`, whose extra pins an older
transformers than sentence-transformers needs; the result is a regular model2vec `StaticModel`,
saved under the cache directory and usable outside cltool. It is built once per base model (about
a minute on two cores), offline, and found again by the base model's fingerprint.
"""

from __future__ import annotations

import copy
import re
import shutil
from itertools import chain
from pathlib import Path

import numpy as np

from cltool.embed.model import STATIC_MODEL, ModelSpec, fingerprint, offline
from cltool.progress import NullReporter, Reporter

PCA_DIMS = 256
SIF_COEFFICIENT = 1e-4
_TOKENS_PER_BATCH = 1024


def static_model_spec(name: str, base: ModelSpec, cache_dir: Path, reporter: Reporter | None = None) -> ModelSpec:
    path = cache_dir / "models" / f"static-{base.fingerprint[:16]}"
    if not (path / "config.json").is_file():
        (reporter if reporter is not None else NullReporter()).info(
            f"distilling a static model from {base.model_id} into {path} (once per model; about a minute on two "
            "cores)")
        build_static_model(base, path)
    return ModelSpec(name=name, model_id=f"static distilled from {base.model_id}", path=path, kind=STATIC_MODEL,
                     fingerprint=fingerprint(path), prompts=dict(base.prompts), max_seq_length=None)


def _pca(x: np.ndarray, dims: int) -> np.ndarray:
    """PCA by eigendecomposition of the covariance, signs fixed so that the result is deterministic."""
    centred = x - x.mean(axis=0)
    eigenvalues, eigenvectors = np.linalg.eigh(centred.T @ centred / (len(x) - 1))
    components = eigenvectors[:, ::-1][:, :dims]
    scores = centred @ components
    signs = np.sign(scores[np.abs(scores).argmax(axis=0), np.arange(scores.shape[1])])
    return scores * signs


def _sif_weights(n: int) -> np.ndarray:
    """Token i is taken as the (i+1)-th most frequent (Zipf); frequent tokens weigh less (SIF)."""
    inverse_rank = 1.0 / np.arange(2, n + 2)
    probability = inverse_rank / inverse_rank.sum()
    return SIF_COEFFICIENT / (SIF_COEFFICIENT + probability)


def build_static_model(base: ModelSpec, path: Path) -> None:
    offline()
    import torch
    from model2vec import StaticModel
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(base.path), device="cpu", local_files_only=True)
    transformer = st[0].auto_model.eval()
    tokenizer = st.tokenizer
    vocabulary = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
    ids = torch.tensor([token_id for _, token_id in vocabulary], dtype=torch.long)
    first, last = tokenizer.cls_token_id, tokenizer.sep_token_id
    pooled = []
    with torch.inference_mode():
        for start in range(0, len(ids), _TOKENS_PER_BATCH):
            batch = ids[start:start + _TOKENS_PER_BATCH, None]
            parts = [batch]
            if first is not None:
                parts.insert(0, torch.full_like(batch, first))
            if last is not None:
                parts.append(torch.full_like(batch, last))
            input_ids = torch.cat(parts, dim=1)
            hidden = transformer(input_ids=input_ids, attention_mask=torch.ones_like(input_ids)).last_hidden_state
            pooled.append(hidden.float().mean(dim=1).numpy())
    vectors = np.nan_to_num(np.concatenate(pooled))
    vectors = _pca(vectors, min(PCA_DIMS, vectors.shape[1])) * _sif_weights(len(vectors))[:, None]

    model = StaticModel(vectors=vectors.astype(np.float32), tokenizer=tokenizer.backend_tokenizer, normalize=True,
                        base_model_name=base.model_id)
    tmp = path.parent / f".{path.name}.building"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(tmp))
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)


class StaticEncoder:
    """A model2vec model's vectors. For a plain model (a float table, no per-token weights or token
    mapping: what `build_static_model` writes) the tokenizer runs directly and the mean is a kernel,
    about 2x model2vec's own encode on short texts; the vectors are model2vec's (the same tokens,
    truncation and normalisation; the mean summed in another order, within 1e-6). Any other model2vec
    model is encoded by model2vec itself."""

    def __init__(self, path: Path, normalize: bool, max_length: int | None):
        from model2vec import StaticModel

        self.model = StaticModel.from_pretrained(str(path), normalize=normalize, force_download=False)
        self.max_length = max_length or 512
        self.normalize = normalize
        model = self.model
        self._table = self._wordpiece = None
        self._added_forms: list[str] = []
        # float32 only: model2vec means a float16 table in float16, which this would not reproduce
        if model.weights is None and model.token_mapping is None and model.embedding.dtype == np.float32:
            self._table = np.ascontiguousarray(model.embedding, dtype=np.float32)
            if not self._table.flags.writeable:  # a read-only array would be another kernel signature
                self._table = self._table.copy()
            self._tokenizer = copy.deepcopy(model.tokenizer)  # model2vec's, with its truncation fixed here
            self._tokenizer.enable_truncation(self.max_length)
            self._plain_tokenizer = _plain_text_tokenizer(self._tokenizer)
            # an added token matched after normalisation may stand in a plain text as another spelling
            self._added_forms = [f for f in added_token_forms(self._tokenizer) if f.isascii()]
            self._wordpiece = WordPiece.from_tokenizer(self._tokenizer, self.max_length, self._added_forms)
            self._max_chars = self.max_length * model.median_token_length  # model2vec cuts the text first too

    @property
    def dimension(self) -> int:
        return int(self.model.dim)

    def encode(self, texts: list[str], prompt: str | None) -> np.ndarray:
        if prompt:
            texts = [prompt + t for t in texts]
        if self._table is None:
            return np.asarray(self.model.encode(texts, max_length=self.max_length, show_progress_bar=False),
                              dtype=np.float32)
        texts = [t[:self._max_chars] for t in texts]
        vectors = np.empty((len(texts), self._table.shape[1]), dtype=np.float32)
        rest = np.arange(len(texts))
        if self._wordpiece is not None:
            ids, counts, rest = self._wordpiece.tokenize(texts)
            done = np.nonzero(counts >= 0)[0]
            vectors[done] = self._mean(ids, counts[done])
        if len(rest):
            ids = self._token_ids([texts[i] for i in rest])
            lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
            vectors[rest] = self._mean(np.fromiter(chain.from_iterable(ids), dtype=np.int64,
                                                   count=int(lengths.sum())), lengths)
        if self.normalize:
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + np.float32(1e-32)
        return vectors

    def _mean(self, token_ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Each text's mean token vector, the unknown token left out (model2vec drops it)."""
        from cltool.kernels.pooling import mean_token_rows

        unknown = self.model.unk_token_id
        if unknown is not None and (token_ids == unknown).any():
            known = token_ids != unknown
            lengths = np.bincount(np.repeat(np.arange(len(lengths)), lengths)[known], minlength=len(lengths))
            token_ids = token_ids[known]
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return mean_token_rows(self._table, token_ids, offsets)

    def _token_ids(self, texts: list[str]) -> list[list[int]]:
        """Each text's token ids from the tokenizer. Plain texts (ASCII, no control character) go
        through it without its BERT normaliser, which is most of its time (1.5 s instead of 2.4 s for
        100k Debian descriptions) and does nothing to them but lowercase (`_plain_text_tokenizer`)."""
        plain_tokenizer = self._plain_tokenizer
        if plain_tokenizer is None:
            return [e.ids for e in self._tokenizer.encode_batch_fast(texts, add_special_tokens=False)]
        forms = self._added_forms
        plain = [t.isascii() and _CONTROL.search(t) is None and not (forms and _holds_added(t, forms)) for t in texts]
        ids: list[list[int]] = [[] for _ in texts]
        for tokenizer, wanted in ((plain_tokenizer, True), (self._tokenizer, False)):
            where = [i for i, p in enumerate(plain) if p is wanted]
            if where:
                encoded = tokenizer.encode_batch_fast([texts[i] for i in where], add_special_tokens=False)
                for i, encoding in zip(where, encoded):
                    ids[i] = encoding.ids
        return ids


class WordPiece:
    """BERT's tokenizer as a kernel (`cltool.kernels.wordpiece`) for plain texts: ASCII without a
    control character or an added token (`[SEP]` in a text is the added token's id, which the
    tokenizer matches before anything else). Only for a tokenizer that is exactly BERT's: a
    BertNormalizer, a BertPreTokenizer and a WordPiece model (`from_tokenizer` gives None otherwise)."""

    def __init__(self, vocabulary: dict[str, int], unknown: int, prefix: str, max_word_chars: int,
                 lowercase: bool, added: list[str], max_tokens: int):
        from cltool.kernels.wordpiece import vocabulary_table

        entries = sorted(vocabulary.items(), key=lambda item: item[1])
        encoded = [token.encode("utf-8") for token, _ in entries]
        self.keys = np.frombuffer(b"".join(encoded), dtype=np.uint8).copy()
        self.key_bounds = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=self.key_bounds[1:])
        self.key_ids = np.array([token_id for _, token_id in entries], dtype=np.int64)
        self.slots = vocabulary_table(self.keys, self.key_bounds)
        self.prefix = np.frombuffer(prefix.encode("utf-8"), dtype=np.uint8).copy()
        self.max_key_bytes = max(map(len, encoded), default=1)
        self.max_word_chars, self.unknown, self.lowercase = max_word_chars, unknown, lowercase
        self.added, self.max_tokens = [a for a in added if a], max_tokens

    @classmethod
    def from_tokenizer(cls, tokenizer, max_tokens: int, added: list[str] | None = None) -> WordPiece | None:
        """`added`: the added tokens' forms (`added_token_forms`), when the caller has them."""
        import json

        config = json.loads(tokenizer.to_str())
        model, normalizer = config.get("model") or {}, config.get("normalizer") or {}
        if (model.get("type") != "WordPiece" or normalizer.get("type") != "BertNormalizer"
                or (config.get("pre_tokenizer") or {}).get("type") != "BertPreTokenizer"
                or model.get("unk_token") not in model.get("vocab", {})):
            return None
        return cls(model["vocab"], model["vocab"][model["unk_token"]], model.get("continuing_subword_prefix", "##"),
                   int(model.get("max_input_chars_per_word", 100)), bool(normalizer.get("lowercase", True)),
                   added_token_forms(tokenizer) if added is None else added, max_tokens)

    def tokenize(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids, counts, rest): the plain texts' ids one after another, each text's count (-1 for a
        text that is not plain) and the texts that are not, for the tokenizer."""
        from cltool.kernels.wordpiece import wordpiece_ids

        chosen = [i for i, t in enumerate(texts) if t.isascii()]
        joined = "".join(texts[i] for i in chosen)
        lowered = joined.lower() if self.lowercase else joined
        # an added token is matched in the text as written or as normalised: either way, not plain
        added = [a for a in self.added if a in joined or a.lower() in lowered]
        if added:
            chosen = [i for i in chosen if not _holds_added(texts[i], added)]
            lowered = "".join(texts[i] for i in chosen)
            lowered = lowered.lower() if self.lowercase else lowered
        bounds = np.zeros(len(chosen) + 1, dtype=np.int64)
        np.cumsum(np.fromiter((len(texts[i]) for i in chosen), dtype=np.int64, count=len(chosen)), out=bounds[1:])
        ids, chosen_counts = wordpiece_ids(
            np.frombuffer(lowered.encode("ascii"), dtype=np.uint8), bounds, self.keys, self.key_bounds,
            self.key_ids, self.slots, self.prefix, self.max_key_bytes, min(self.max_word_chars, len(lowered) + 1),
            self.unknown, self.max_tokens)
        counts = np.full(len(texts), -1, dtype=np.int64)
        counts[np.asarray(chosen, dtype=np.int64)] = chosen_counts
        return ids, counts, np.nonzero(counts < 0)[0]


def added_token_forms(tokenizer) -> list[str]:
    """What an added token is matched as: its content, and for a token matched after normalisation
    (`normalized`), the content as the normaliser writes it (`Café` is found in "cafe"). A text
    holding one of them, in any case, is not plain."""
    forms = []
    for token in tokenizer.get_added_tokens_decoder().values():
        forms.append(token.content)
        if token.normalized and tokenizer.normalizer is not None:
            forms.append(tokenizer.normalizer.normalize_str(token.content))
    return [f for f in dict.fromkeys(forms) if f]


def _holds_added(text: str, forms: list[str]) -> bool:
    lowered = text.lower()
    return any(f in text or f.lower() in lowered for f in forms)


# the characters BERT's clean_text removes (controls other than tab, newline and carriage return)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _plain_text_tokenizer(tokenizer):
    """The tokenizer with its BERT normaliser replaced by what it does to a plain text (ASCII, no
    control character): lowercasing (or nothing). clean_text removes control characters and turns
    whitespace into spaces (which the pre-tokenizer splits on anyway), the Chinese-character and
    accent steps touch no ASCII. None for any other normaliser."""
    import json

    from tokenizers import normalizers

    config = json.loads(tokenizer.to_str())
    normalizer = config.get("normalizer") or {}
    if normalizer.get("type") != "BertNormalizer" or not _splits_on_whitespace(config.get("pre_tokenizer")):
        return None
    # the plain path keeps tabs and line breaks that clean_text would have made spaces: the same
    # only where the pre-tokenizer splits on every whitespace character
    plain = copy.deepcopy(tokenizer)
    plain.normalizer = normalizers.Lowercase() if normalizer.get("lowercase", True) else normalizers.Sequence([])
    return plain


def _splits_on_whitespace(pre_tokenizer: dict | None) -> bool:
    """Whether a pre-tokenizer (its tokenizer.json entry) splits on tabs and line breaks as on spaces."""
    if not pre_tokenizer:
        return False
    if pre_tokenizer.get("type") == "Sequence":
        return any(_splits_on_whitespace(p) for p in pre_tokenizer.get("pretokenizers", []))
    return pre_tokenizer.get("type") in ("BertPreTokenizer", "Whitespace", "WhitespaceSplit")

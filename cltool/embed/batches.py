"""Texts to a transformer's inputs and its outputs to vectors, shared by the backends that run a
simple model themselves (torch's `_DirectTransformer`, OpenVINO): tokenized all at once, batched by
token count, padded per batch as transformers pads, and pooled as sentence-transformers pools."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def pooled(hidden: np.ndarray, attention_mask: np.ndarray, pooling: str, normalize: bool) -> np.ndarray:
    """A batch's sentence vectors from its last hidden states: the CLS token's, or the mean over the
    attention mask (sentence-transformers' Pooling), scaled to unit length with `normalize`."""
    if pooling == "cls":
        vectors = hidden[:, 0]
    else:
        mask = attention_mask[..., None].astype(hidden.dtype)
        vectors = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
    if normalize:
        vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return vectors


# Tokens (rows x the batch's longest) of one forward pass: --batch-size texts of 128 tokens. Texts
# are batched in order of their token count, so short texts go many to a pass and long ones few,
# and no pass pads much.
TOKENS_PER_BATCH_TEXT = 128


def token_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Positions of `lengths` (token counts) in batches: shortest first, each batch as many texts as
    fit batch_size x TOKENS_PER_BATCH_TEXT tokens once padded to its longest (at least one text, at
    most 8 x batch_size)."""
    order = np.argsort(lengths, kind="stable")
    budget, most = batch_size * TOKENS_PER_BATCH_TEXT, 8 * batch_size
    batches, start = [], 0
    while start < len(order):
        end = start + 1
        while end < len(order) and end - start < most and (end + 1 - start) * lengths[order[end]] <= budget:
            end += 1
        batches.append(order[start:end])
        start = end
    return batches


class FastTokenizer:
    """The model's tokenizer.json run by `tokenizers` itself: the same ids, attention mask and token
    types as transformers' fast tokenizer (padded to the batch's longest, truncated to max_length),
    without importing transformers (and torch), which is most of a short run's start-up."""

    @classmethod
    def of(cls, path: Path, max_length: int) -> FastTokenizer | None:
        if not (path / "tokenizer.json").is_file():
            return None
        from tokenizers import Tokenizer

        config = json.loads((path / "tokenizer_config.json").read_text()) if (path / "tokenizer_config.json").is_file() \
            else {}
        pad = config.get("pad_token")
        pad = pad.get("content") if isinstance(pad, dict) else pad
        tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        pad_id = tokenizer.token_to_id(pad) if pad else None
        if pad_id is None or config.get("padding_side", "right") != "right":
            return None  # not a layout this reads: transformers' tokenizer decides
        tokenizer.enable_truncation(max_length)
        tokenizer.no_padding()  # padded per batch, in `batches`
        return cls(tokenizer, pad_id)

    def __init__(self, tokenizer, pad_id: int):
        self.tokenizer, self.pad_id = tokenizer, pad_id

    def batches(self, texts: list[str], batch_size: int):
        """(positions, inputs) per forward pass: all the texts tokenized at once, then batched by their
        token counts (`token_batches`) and padded to each batch's longest, as transformers pads."""
        encoded = self.tokenizer.encode_batch(texts)
        lengths = np.fromiter((len(e.ids) for e in encoded), dtype=np.int64, count=len(encoded))
        for rows in token_batches(lengths, batch_size):
            width = int(lengths[rows].max())
            arrays = {"input_ids": np.full((len(rows), width), self.pad_id, dtype=np.int64),
                      "attention_mask": np.zeros((len(rows), width), dtype=np.int64),
                      "token_type_ids": np.zeros((len(rows), width), dtype=np.int64)}
            for i, row in enumerate(rows.tolist()):
                e, n = encoded[row], lengths[row]
                arrays["input_ids"][i, :n] = e.ids
                arrays["attention_mask"][i, :n] = e.attention_mask
                arrays["token_type_ids"][i, :n] = e.type_ids
            yield rows, arrays


class TransformersTokenizer:
    def __init__(self, path: Path, max_length: int):
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self.max_length = max_length

    def batches(self, texts: list[str], batch_size: int):
        """(positions, inputs) per forward pass of batch_size texts, in the order given (the Embedder
        sorts them by length)."""
        for start in range(0, len(texts), batch_size):
            encoded = self.tokenizer(texts[start:start + batch_size], padding=True, truncation=True,
                                     max_length=self.max_length, return_tensors="np")
            yield np.arange(start, min(start + batch_size, len(texts))), {k: v.astype(np.int64)
                                                                          for k, v in encoded.items()}

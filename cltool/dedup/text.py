"""Text as the dedup methods see it: normalised with Arrow compute (vectorised, no Python loop per
row), and the information measures of the low-information filter."""

from __future__ import annotations

import hashlib
import math
import zlib
from collections import Counter
from typing import Iterable, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from cltool.dedup.methods.registry import Normalized

# the normalisation steps are declared with the option that names them (dedup's --normalize)
DEFAULT_NORMALIZATION = Normalized.normalization
JOIN = " \x1f "  # between the columns of a multi-column key: a token of its own, in no text by accident


def normalize(texts: pa.Array, steps: Sequence[str]) -> pa.Array:
    texts = pc.cast(texts, pa.string())
    if "nfkc" in steps:
        texts = pc.utf8_normalize(texts, "NFKC")
    if "case" in steps:
        texts = pc.utf8_lower(texts)
    if "punctuation" in steps:
        texts = pc.replace_substring_regex(texts, r"[\p{P}\p{S}]+", " ")
    if "whitespace" in steps:
        # split + join: several times faster than a \s+ regex over Arrow's RE2
        texts = pc.utf8_trim_whitespace(pc.binary_join(pc.utf8_split_whitespace(texts), " "))
    return texts


def joined(columns: Sequence[pa.Array]) -> pa.Array:
    """One text per row from one or more columns (the key of `--on anchor,positive`)."""
    if len(columns) == 1:
        return columns[0]
    return pc.binary_join_element_wise(*columns, JOIN)


def normalized_text(columns: Sequence[pa.Array], steps: Sequence[str], tokenized: bool = False) -> pa.Array:
    """One text per row, its columns normalised and joined, as the exact and minhash methods compare it.
    For word shingles (`tokenized`) whitespace needs no normalising: the tokenizer splits on it anyway
    (and NFKC has already turned the exotic kinds into spaces)."""
    steps = [s for s in steps if not (tokenized and s == "whitespace")]
    return joined([normalize(t, steps) for t in columns])


def exact_keys(texts: pa.Array) -> list[bytes]:
    """128-bit digests of the (normalised) texts: equal texts, equal keys; collisions are not a concern."""
    return [hashlib.blake2b(t.encode("utf-8"), digest_size=16).digest() for t in texts.to_pylist()]


def token_entropy(text: str) -> float:
    """Shannon entropy in bits of the distribution of whitespace tokens: 0 for one repeated token.
    A text of one token (a word, or a sentence in a script written without spaces) is measured by
    its characters instead, so that "Shakespeare" and a Japanese sentence are not "low information"
    while "aaaaaaaa" is."""
    tokens = text.split()
    counts = Counter(tokens if len(tokens) > 1 else text.strip())
    total = sum(counts.values())
    if total == 0:
        return 0.0
    return -sum(c / total * math.log2(c / total) for c in counts.values())


def compression_ratio(text: str) -> float:
    """Compressed size over raw size (zlib, level 6): low for repetitive text."""
    raw = text.encode("utf-8")
    return len(zlib.compress(raw, 6)) / len(raw) if raw else 1.0


def low_information(texts: Iterable[str], min_entropy: float, min_compression: float,
                    compression_min_bytes: int = 128) -> list[str | None]:
    """For each text, why it carries too little information, or None. The compression test applies
    only to texts of `compression_min_bytes` or more: zlib's overhead makes short texts look dense."""
    out: list[str | None] = []
    for text in texts:
        entropy = token_entropy(text)
        if entropy < min_entropy:
            out.append(f"token entropy {entropy:.2f} bits < {min_entropy}")
            continue
        if len(text.encode("utf-8")) >= compression_min_bytes:
            ratio = compression_ratio(text)
            if ratio < min_compression:
                out.append(f"compression ratio {ratio:.3f} < {min_compression}")
                continue
        out.append(None)
    return out

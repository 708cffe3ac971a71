"""The data contract's rules: what every step reads and writes the same way.

- ids: a row's id is the one the user gave, else one derived from its text (`given_or_derived`): the
  hex of a 64-bit BLAKE2b hash of the normalised text, so the same text always gets the same id;
- match keys: when two texts are the same passage (`ids_and_match_keys`);
- text: which Arrow types hold it (`is_text_type`), when it is blank (`blank_mask`);
- embeddings: what made a column (`embedding_info`), its vectors as a matrix (`embedding_matrix`), and
  whether two columns' vectors may be compared (`check_same_model`).

The names (columns, reasons) are `cltool.dataset.columns`'s; bringing an input to the canonical layout
is ingest's (`cltool.ingest.canonical`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import unicodedata
from typing import Any, Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# The names, importable from here too for the modules another change is rewriting (samplers, judges,
# pair judges, dedup methods, emit formats, validate checks, the CLI, the settings, the registry):
# new code imports them from cltool.dataset.columns.
from cltool.dataset.columns import (  # noqa: F401
    ANCHOR,
    ANCHOR_ID,
    CORPUS_ID,
    CORPUS_TEXT,
    EMBEDDING_SUFFIX,
    EMPTY_TEXT,
    FIELD_METADATA_KEY,
    INVALID_EMBEDDING,
    MISMATCHED_PAIR,
    NEGATIVE_CE_SCORES,
    NEGATIVE_IDS,
    NEGATIVE_RANKS,
    NEGATIVE_SCORES,
    NEGATIVES,
    POSITIVE,
    POSITIVE_CE_SCORE,
    POSITIVE_ID,
    POSITIVE_RANK,
    POSITIVE_SCORE,
    TOO_FEW_NEGATIVES,
    embedding_column,
)
from cltool.errors import InputError

# filter writes each scoring judge's score of every kept negative, parallel to `negatives`
JUDGE_SCORE_COLUMNS = {"cross-encoder": NEGATIVE_CE_SCORES, "bi-encoder": "negative_bi_encoder_scores",
                       "paraphrase": "negative_paraphrase_scores", "lexical": "negative_lexical_scores"}

# ingest's names that cltool/cli/ingest.py still imports from here (the CLI is being rewritten by
# another change): resolved when asked for, since cltool.ingest.canonical imports this module
_CANONICAL_NAMES = ("PAIRS_ALIASES", "CORPUS_ALIASES", "parse_column_overrides")


def __getattr__(name: str) -> Any:
    if name in _CANONICAL_NAMES:
        from cltool.ingest import canonical

        return getattr(canonical, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def embedding_info(field: pa.Field) -> dict | None:
    """What made an embedding column (model, fingerprint, dimension, prompt, normalisation), if cltool did."""
    raw = (field.metadata or {}).get(FIELD_METADATA_KEY)
    return json.loads(raw) if raw else None


def embedding_matrix(array: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """An embedding column (fixed-size lists) as a float32 (rows, dim) matrix, and a mask of the rows
    that are unusable (null, not finite, or all zeros: no direction, so no cosine), left as zeros."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    dim = array.type.list_size
    # .values keeps the slots of null rows (flatten() would drop them and misalign the rest)
    values = array.values.to_numpy(zero_copy_only=False)[array.offset * dim:(array.offset + len(array)) * dim]
    values = values.reshape(-1, dim).astype(np.float32, copy=True)
    invalid = array.is_null().to_numpy(zero_copy_only=False) | ~np.isfinite(values).all(axis=1)
    values[invalid] = 0.0
    invalid |= ~values.any(axis=1)
    return values, invalid


def normalize_text(text: str) -> str:
    """What makes two texts the same text: Unicode NFKC, whitespace collapsed, ends trimmed."""
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return " ".join(text.split())  # str.split() splits on exactly what str.isspace() calls whitespace


def text_id(text: str) -> str:
    return _blake64(normalize_text(text)).hex()


_SURROUNDING = " \t\n.,;:!?'\"`()[]{}"


def _blake64(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()


def ids_and_match_keys(texts: Iterable[str | None]) -> tuple[list[str | None], list[int]]:
    """Per text, its `text_id` and its match key (None and 0 for None); each distinct text is
    normalised once and hashed twice.

    The match key decides that two texts are the same passage: looser than the id, it also ignores
    case and the punctuation around the text, so "Use sorted(xs)." matches "use sorted(xs)"."""
    memo: dict[str, tuple[str, int]] = {}
    ids: list[str | None] = []
    keys: list[int] = []
    for t in texts:
        if t is None:
            ids.append(None)
            keys.append(0)
            continue
        known = memo.get(t)
        if known is None:
            normal = normalize_text(t)
            loose = normal.casefold().strip(_SURROUNDING)
            known = memo[t] = (_blake64(normal).hex(), int.from_bytes(_blake64(loose), "big"))
        ids.append(known[0])
        keys.append(known[1])
    return ids, keys


def match_keys(texts: Iterable[str | None]) -> list[int]:
    """The match key of each text (see `ids_and_match_keys`)."""
    return ids_and_match_keys(texts)[1]


def text_ids(texts: Iterable[str | None]) -> list[str | None]:
    """`text_id` of each text (None stays None); repeated texts are hashed once."""
    memo: dict[str, str] = {}
    out: list[str | None] = []
    for t in texts:
        if t is None:
            out.append(None)
            continue
        tid = memo.get(t)
        if tid is None:
            tid = memo[t] = text_id(t)
        out.append(tid)
    return out


def given_or_derived(given: Iterable[Any] | None, texts: Sequence[str | None], *,
                     derived: Sequence[str | None] | None = None) -> list[str | None]:
    """Each row's id: the one the user gave, else `text_id` of its text. The one id rule of every step.

    A given id is missing when it is null, empty or only whitespace (a CSV's empty cell, JSON's "",
    a padded blank: no id anyone chose, and ids that would all be equal); any other is kept as given,
    as text and untrimmed (7 -> "7", " a7" stays " a7"). A null or blank text derives no id (None): its
    row is rejected as empty_text. `given`: None when the input has no id column; `derived`: the texts'
    ids where the caller already hashed them (`ids_and_match_keys`)."""
    memo: dict[str, str] = {}
    out: list[str | None] = []
    for i, (g, t) in enumerate(zip(itertools.repeat(None) if given is None else given, texts)):
        if g is not None and not (isinstance(g, str) and (not g or g.isspace())):
            out.append(g if isinstance(g, str) else str(g))
        elif t is None or not t or t.isspace():
            out.append(None)
        elif derived is not None:
            out.append(derived[i])
        else:
            tid = memo.get(t)
            if tid is None:
                tid = memo[t] = text_id(t)
            out.append(tid)
    return out


def is_text_type(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t) or pa.types.is_null(t)


def require_text_columns(source: str, schema: pa.Schema, columns: Sequence[str], hint: str) -> None:
    """Each of `columns` is present and holds text, or an InputError naming what was found."""
    for column in columns:
        if column not in schema.names:
            raise InputError(f"{source} has no column {column!r}; columns found: {', '.join(schema.names)}", hint=hint)
        if not is_text_type(schema.field(column).type):
            raise InputError(f"column {column!r} of {source} is {schema.field(column).type}, not text", hint=hint)


def check_same_model(fields: Sequence[tuple[str, pa.Field]]) -> None:
    """Refuse embeddings that cannot be compared: other dimensions, or other weights (when the
    columns say which model made them). `fields`: (where it comes from, the embedding column)."""
    (first_source, first), *rest = fields
    first_info = embedding_info(first)
    for source, other in rest:
        if other.type.list_size != first.type.list_size:
            raise InputError(f"{other.name} of {source} has {other.type.list_size} dimensions but {first.name} of "
                             f"{first_source} has {first.type.list_size}: they come from different models",
                             hint="embed every input with the same --model")
        info = embedding_info(other)
        if first_info and info and first_info.get("model_fingerprint") != info.get("model_fingerprint"):
            raise InputError(f"{other.name} of {source} comes from {info.get('model_id')} but {first.name} of "
                             f"{first_source} from {first_info.get('model_id')} (different weights): their scores "
                             "are not comparable", hint="embed every input with the same --model")


def is_text_list_type(t: pa.DataType) -> bool:
    return (pa.types.is_list(t) or pa.types.is_large_list(t)) and is_text_type(t.value_type)


def blank_mask(texts: pa.Array) -> np.ndarray:
    """True where a text is null, empty or only whitespace: the one definition every step uses."""
    trimmed = pc.utf8_trim_whitespace(pc.cast(texts, pa.string()))
    return pc.fill_null(pc.equal(trimmed, ""), True).to_numpy(zero_copy_only=False)

"""The data contract's rules: what every step reads and writes the same way.

- ids: a row's id is the one the user gave, else one derived from its text (`given_or_derived`): the
  hex of a 64-bit BLAKE2b hash of the normalised text, so the same text always gets the same id;
- match keys: when two texts are the same passage (`ids_and_match_keys`);
- text: which Arrow types hold it (`is_text_type`), when it is blank (`blank_mask`);
- embeddings: what made a column (`embedding_info`), its vectors as a matrix (`embedding_matrix`), and
  when two columns' vectors may be compared (`require_comparable`).

The names (columns, reasons) are `cltool.dataset.columns`'s; bringing an input to the canonical layout
is ingest's (`cltool.ingest.canonical`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import unicodedata
from typing import Any, Iterable, Mapping, Sequence

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


def is_text_list_type(t: pa.DataType) -> bool:
    return (pa.types.is_list(t) or pa.types.is_large_list(t)) and is_text_type(t.value_type)


# What makes two columns' cosines comparable: the weights and the space (its dimension), not the model's
# name or path (one model may have several). And normalisation: the steps rescale before a cosine, but
# vectors embedded with --no-normalize are another setup's, and a score read off one (a saved search, a
# threshold) is not vouched for on the other.
_COMPARABLE = ("model_fingerprint", "dimension", "normalize")
# Within one column the prompt too; between anchors and candidates a query and a document prompt rightly differ.
_ONE_COLUMN = (*_COMPARABLE, "prompt")


def comparable_info(field: pa.Field) -> dict:
    """What can be compared of how a column's vectors were made: `embedding_info` where cltool made
    them, and always the dimension its type gives (vectors of the user's own say nothing else)."""
    info = dict(embedding_info(field) or {})
    if pa.types.is_fixed_size_list(field.type):
        info["dimension"] = field.type.list_size
    return info


def require_comparable(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None, *, where: str, same_column: bool,
                       hint: str | None = None) -> None:
    """Refuse vectors whose cosines cannot be compared, or an InputError naming what differs.

    `a`, `b`: what made them (`embedding_info`, or `comparable_info` of a field); `where`: what they
    are, for the error ("anchor_embedding of X and text_embedding of Y"). Within one column (the
    shards of a dataset, or the anchors a saved search was scored with and this input's) everything
    that made the vectors must be the same, prompt included, and one that records nothing differs from
    one that does. Between anchors and candidates (a query and a document) the weights, dimension and
    normalisation must be the same, the prompts may differ, and what one side does not record
    (vectors cltool did not make) cannot be compared and is let pass."""
    a, b = a or {}, b or {}
    keys = _ONE_COLUMN if same_column else _COMPARABLE
    differ = [k for k in keys if (same_column or (k in a and k in b)) and a.get(k) != b.get(k)]
    if not differ:
        return
    if hint is None:
        hint = ("embed every shard with the same model, prompt and --normalize (cltool embed), or read them as "
                "separate inputs" if same_column else "embed every input with the same --model and --normalize")
    raise InputError(f"{where} cannot be compared: {'; '.join(_difference(k, a, b) for k in differ)}", hint=hint)


def _difference(key: str, a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    if key == "model_fingerprint":
        said = lambda info: (f"{info[key][:12]} ({info.get('model_id') or 'model unnamed'})" if info.get(key)  # noqa: E731
                             else "none recorded")
        return f"different weights, model_fingerprint {said(a)} vs {said(b)}"
    if key == "dimension":
        return f"{a.get(key)} vs {b.get(key)} dimensions"
    return f"{key} {a.get(key)!r} vs {b.get(key)!r}"


def blank_mask(texts: pa.Array) -> np.ndarray:
    """True where a text is null, empty or only whitespace: the one definition every step uses."""
    trimmed = pc.utf8_trim_whitespace(pc.cast(texts, pa.string()))
    return pc.fill_null(pc.equal(trimmed, ""), True).to_numpy(zero_copy_only=False)

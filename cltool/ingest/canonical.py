"""Ingest's canonicalisation: any input's columns brought to the canonical pairs or corpus table.

    anchor, positive, anchor_id, positive_id, [positive_score], [negatives, negative_ids,
    negative_scores], then every other column untouched.

The layout (which input column plays which part) is decided once from the schema, by the accepted
aliases or the user's `--column` overrides, before any data is read. One positive per row: a list of
positives (FlagEmbedding's `pos`, a list `positive` column) is spread over several rows of the same
anchor, which the whole chain reads as "all of these are positives for this anchor". Ids follow the
contract's one rule, `given_or_derived`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cltool.dataset.columns import (
    ANCHOR,
    ANCHOR_ID,
    CORPUS_ID,
    CORPUS_TEXT,
    DETAIL,
    EMPTY_TEXT,
    NEGATIVE_IDS,
    NEGATIVE_SCORES,
    NEGATIVES,
    POSITIVE,
    POSITIVE_ID,
    POSITIVE_SCORE,
    REASON,
    REJECTION_COLUMNS,
)
from cltool.dataset.pairs import blank_mask, given_or_derived, is_text_list_type, is_text_type
from cltool.errors import InputError, UsageError

PAIRS_ALIASES: dict[str, tuple[str, ...]] = {
    ANCHOR: (ANCHOR, "query", "question", "sentence1"),
    POSITIVE: (POSITIVE, "pos", "answer", "document", "sentence2"),
    ANCHOR_ID: (ANCHOR_ID, "query_id", "query-id", "qid"),
    POSITIVE_ID: (POSITIVE_ID, "pos_id", "doc_id", "document_id", "corpus_id", "corpus-id", "docid"),
    POSITIVE_SCORE: (POSITIVE_SCORE, "pos_scores", "pos_score"),
    NEGATIVES: (NEGATIVES, "neg", "negative"),
    NEGATIVE_IDS: (NEGATIVE_IDS, "neg_ids"),
    NEGATIVE_SCORES: (NEGATIVE_SCORES, "neg_scores"),
}
CORPUS_ALIASES: dict[str, tuple[str, ...]] = {
    CORPUS_ID: (CORPUS_ID, "_id", "doc_id", "docid", "corpus_id", "document_id", "pid"),
    CORPUS_TEXT: (CORPUS_TEXT, "document", "passage", "content", "contents", "body"),
}
# sentence-transformers triplet / n-tuple files: negative, negative_1, negative_2, ...
_NEGATIVE_COLUMN = re.compile(r"^negative(_\d+)?$")


def _is_id_type(t: pa.DataType) -> bool:
    return is_text_type(t) or pa.types.is_integer(t)


def parse_column_overrides(items: Iterable[str], allowed: Iterable[str]) -> dict[str, str]:
    """`--column anchor=title` options: canonical name -> the input's column."""
    allowed = list(allowed)
    overrides: dict[str, str] = {}
    for item in items:
        canonical, sep, source = item.partition("=")
        if not sep or not source or canonical not in allowed:
            raise UsageError(f"--column takes CANONICAL=SOURCE with CANONICAL one of {', '.join(allowed)}; got {item!r}")
        overrides[canonical] = source
    return overrides


def _find(names: list[str], canonical: str, aliases: Mapping[str, tuple[str, ...]], overrides: Mapping[str, str],
          source: str, required: bool) -> str | None:
    if canonical in overrides:
        if overrides[canonical] not in names:
            raise InputError(f"{source} has no column {overrides[canonical]!r} (given for {canonical}); "
                             f"columns found: {', '.join(names)}")
        return overrides[canonical]
    for alias in aliases[canonical]:
        if alias in names:
            return alias
    if required:
        raise InputError(
            f"{source} has no {canonical} column; columns found: {', '.join(names) or '(none)'}",
            hint=f"accepted names for {canonical}: {', '.join(aliases[canonical])}; "
                 f"or name yours with --column {canonical}=YOUR_COLUMN",
        )
    return None


def _require_type(schema: pa.Schema, column: str, canonical: str, ok, expected: str, source: str) -> None:
    found = schema.field(column).type
    if not ok(found):
        raise InputError(f"column {column!r} of {source} (used as {canonical}) must be {expected}, found {found}",
                         hint=f"convert it, or name another column with --column {canonical}=YOUR_COLUMN")


@dataclass
class PairsLayout:
    """Which input column plays which canonical part; decided once from the schema, before any data."""

    anchor: str
    positive: str
    positive_is_list: bool
    anchor_id: str | None = None
    positive_id: str | None = None
    positive_score: str | None = None
    negatives: str | None = None
    negative_columns: list[str] = field(default_factory=list)
    negative_ids: str | None = None
    negative_scores: str | None = None
    passthrough: list[str] = field(default_factory=list)

    @property
    def has_negatives(self) -> bool:
        return self.negatives is not None or bool(self.negative_columns)


def pairs_layout(schema: pa.Schema, source: str, overrides: Mapping[str, str] | None = None) -> PairsLayout:
    overrides = overrides or {}
    names = list(schema.names)
    find = lambda canonical, required=False: _find(names, canonical, PAIRS_ALIASES, overrides, source, required)  # noqa: E731
    anchor, positive = find(ANCHOR, True), find(POSITIVE, True)
    _require_type(schema, anchor, ANCHOR, is_text_type, "text", source)
    _require_type(schema, positive, POSITIVE, lambda t: is_text_type(t) or is_text_list_type(t),
                  "text or a list of texts", source)
    layout = PairsLayout(anchor=anchor, positive=positive, positive_is_list=is_text_list_type(schema.field(positive).type))
    layout.anchor_id, layout.positive_id, layout.positive_score = find(ANCHOR_ID), find(POSITIVE_ID), find(POSITIVE_SCORE)
    negatives = find(NEGATIVES)
    numbered = [n for n in names if _NEGATIVE_COLUMN.match(n) and n not in (positive, negatives)]
    if negatives is not None and is_text_list_type(schema.field(negatives).type):
        layout.negatives = negatives
    else:
        layout.negative_columns = ([negatives] if negatives is not None else []) + numbered
        for column in layout.negative_columns:
            _require_type(schema, column, NEGATIVES, is_text_type, "text or a list of texts", source)
    if layout.has_negatives:  # ids and scores of negatives mean nothing without the negatives
        layout.negative_ids, layout.negative_scores = find(NEGATIVE_IDS), find(NEGATIVE_SCORES)

    list_of = lambda ok: lambda t: (pa.types.is_list(t) or pa.types.is_large_list(t)) and ok(t.value_type)  # noqa: E731
    per_positive = list_of if layout.positive_is_list else (lambda ok: ok)
    checks = [
        (layout.anchor_id, ANCHOR_ID, _is_id_type, "text or integer"),
        (layout.positive_id, POSITIVE_ID, per_positive(_is_id_type),
         "a list of ids, like the positives" if layout.positive_is_list else "text or integer"),
        (layout.positive_score, POSITIVE_SCORE, per_positive(_is_score_type),
         "a list of numbers, like the positives" if layout.positive_is_list else "a number"),
        (layout.negative_ids, NEGATIVE_IDS, list_of(_is_id_type), "a list of ids"),
        (layout.negative_scores, NEGATIVE_SCORES, list_of(_is_score_type), "a list of numbers"),
    ]
    for column, canonical, ok, expected in checks:
        if column is not None:
            _require_type(schema, column, canonical, ok, expected, source)
    used = {anchor, positive, layout.anchor_id, layout.positive_id, layout.positive_score, layout.negatives,
            layout.negative_ids, layout.negative_scores, *layout.negative_columns}
    layout.passthrough = [n for n in names if n not in used]
    return layout


def _is_score_type(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or is_text_type(t)


def _add_passthrough(columns: dict[str, pa.Array], table: pa.Table, names: list[str]) -> None:
    """Other columns, untouched. One must not take the name of a column cltool writes (an `anchor`
    column left over when `--column anchor=title` chose another, or a `reason` column): it is kept
    as input_NAME."""
    written = set(columns) | set(REJECTION_COLUMNS)
    for name in names:
        columns[f"input_{name}" if name in written else name] = _column(table, name)


def _floats(values: pa.Array, column: str) -> pa.Array:
    """Scores as float32; text such as "0.5" (CSV) is parsed, a blank is null, anything else is an error."""
    if is_text_type(values.type):
        values = pc.cast(values, pa.string())
        values = pc.if_else(pc.equal(pc.utf8_trim_whitespace(values), ""), pa.scalar(None, pa.string()), values)
    try:
        return pc.cast(values, pa.float32())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InputError(f"column {column!r} holds a value that is not a number ({exc})",
                         hint="scores must be numbers; name another column with --column") from None


def _column(table: pa.Table, name: str) -> pa.Array:
    return table.column(name).combine_chunks()


def _explode_positives(table: pa.Table, layout: PairsLayout) -> tuple[pa.Table, dict[str, pa.Array]]:
    """One row per positive. A row with no positive at all stays, with a null positive, to be rejected."""
    lists = _column(table, layout.positive)
    if table.num_rows == 0:
        empty = {POSITIVE: pc.list_flatten(lists)}
        for canonical, column in ((POSITIVE_ID, layout.positive_id), (POSITIVE_SCORE, layout.positive_score)):
            if column is not None:
                empty[canonical] = pc.list_flatten(_column(table, column))
        return table, empty
    lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    copies = np.maximum(lengths, 1)
    parent = np.repeat(np.arange(table.num_rows), copies)
    first_out = np.concatenate([[0], np.cumsum(copies)[:-1]])
    value_start = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    k = np.arange(copies.sum()) - np.repeat(first_out, copies)
    index = np.repeat(value_start, copies) + k
    no_value = np.repeat(lengths == 0, copies)
    take = pa.array(index, mask=no_value)
    exploded = {POSITIVE: pc.list_flatten(lists).take(take)}
    for canonical, column in ((POSITIVE_ID, layout.positive_id), (POSITIVE_SCORE, layout.positive_score)):
        if column is None:
            continue
        values = _column(table, column)
        value_lengths = pc.fill_null(pc.list_value_length(values), 0).to_numpy(zero_copy_only=False)
        if not np.array_equal(value_lengths, lengths):
            row = int(np.nonzero(value_lengths != lengths)[0][0])
            raise InputError(f"column {column!r} does not line up with the positives "
                             f"(row {row} has {value_lengths[row]} values for {lengths[row]} positives)")
        exploded[canonical] = pc.list_flatten(values).take(take)
    return table.take(pa.array(parent)), exploded


def _aligned_lists(table: pa.Table, column: str | None) -> list[list] | None:
    return None if column is None else [row or [] for row in _column(table, column).to_pylist()]


def _negatives(table: pa.Table, layout: PairsLayout) -> tuple[dict[str, pa.Array], int]:
    """Each row's negatives as a list, with their ids and scores; null or blank entries are taken
    out of all three together (and counted, not hidden)."""
    if layout.negatives is not None:
        rows = _aligned_lists(table, layout.negatives)
    else:
        columns = [_column(table, c).to_pylist() for c in layout.negative_columns]
        rows = [list(values) for values in zip(*columns)]
    given_ids = _aligned_lists(table, layout.negative_ids)
    given_scores = _aligned_lists(table, layout.negative_scores)
    for name, aligned in ((layout.negative_ids, given_ids), (layout.negative_scores, given_scores)):
        if aligned is not None and any(len(a) != len(r) for a, r in zip(aligned, rows)):
            raise InputError(f"column {name!r} does not line up with the negatives (a row has a different count)")
    dropped = 0
    negatives, ids, scores = [], [], []
    for i, row in enumerate(rows):
        keep = [j for j, t in enumerate(row) if t is not None and t.strip()]
        dropped += len(row) - len(keep)
        negatives.append([row[j] for j in keep])
        ids.append(given_or_derived([given_ids[i][j] for j in keep] if given_ids is not None else None,
                                    [row[j] for j in keep]))
        if given_scores is not None:
            scores.append([_float(given_scores[i][j], layout.negative_scores) for j in keep])
    out = {NEGATIVES: pa.array(negatives, pa.list_(pa.string())), NEGATIVE_IDS: pa.array(ids, pa.list_(pa.string()))}
    if given_scores is not None:
        out[NEGATIVE_SCORES] = pa.array(scores, pa.list_(pa.float32()))
    return out, dropped


def _float(value, column: str) -> float | None:
    if value is None or isinstance(value, (int, float)):
        return value
    try:
        return float(value) if value.strip() else None
    except ValueError:
        raise InputError(f"column {column!r} holds {value!r}, not a number", hint="scores must be numbers") from None


def _ids(given: pa.Array | None, texts: pa.Array) -> pa.Array:
    """The user's ids as text where present, else ids derived from the text (`given_or_derived`)."""
    given_text = pc.cast(given, pa.string()).to_pylist() if given is not None else None
    return pa.array(given_or_derived(given_text, texts.to_pylist()), pa.string())


@dataclass
class Canonical:
    kept: pa.Table
    rejected: pa.Table  # same columns as kept, plus reason and detail
    rows_in: int  # rows after spreading lists of positives
    dropped_blank_negatives: int = 0


def canonicalize_pairs(table: pa.Table, layout: PairsLayout) -> Canonical:
    if layout.positive_is_list:
        table, exploded = _explode_positives(table, layout)
    else:
        exploded = {POSITIVE: _column(table, layout.positive)}
        if layout.positive_id:
            exploded[POSITIVE_ID] = _column(table, layout.positive_id)
        if layout.positive_score:
            exploded[POSITIVE_SCORE] = _column(table, layout.positive_score)
    anchor = pc.cast(_column(table, layout.anchor), pa.string())
    positive = pc.cast(exploded[POSITIVE], pa.string())
    columns: dict[str, pa.Array] = {
        ANCHOR: anchor,
        POSITIVE: positive,
        ANCHOR_ID: _ids(_column(table, layout.anchor_id) if layout.anchor_id else None, anchor),
        POSITIVE_ID: _ids(exploded.get(POSITIVE_ID), positive),
    }
    if POSITIVE_SCORE in exploded:
        columns[POSITIVE_SCORE] = _floats(exploded[POSITIVE_SCORE], layout.positive_score)
    dropped = 0
    if layout.has_negatives:
        negative_columns, dropped = _negatives(table, layout)
        columns.update(negative_columns)
    _add_passthrough(columns, table, layout.passthrough)
    out = pa.table(columns)

    anchor_blank, positive_blank = blank_mask(anchor), blank_mask(positive)
    bad = anchor_blank | positive_blank
    kept = out.filter(pa.array(~bad))
    rejected = out.filter(pa.array(bad))
    if rejected.num_rows:
        details = [
            " and ".join(part for part, blank in ((ANCHOR, a), (POSITIVE, p)) if blank) + " is null or blank"
            for a, p in zip(anchor_blank[bad], positive_blank[bad])
        ]
        rejected = rejected.append_column(REASON, pa.array([EMPTY_TEXT] * rejected.num_rows, pa.string()))
        rejected = rejected.append_column(DETAIL, pa.array(details, pa.string()))
    return Canonical(kept=kept, rejected=rejected, rows_in=out.num_rows, dropped_blank_negatives=dropped)


@dataclass
class CorpusLayout:
    id: str | None
    text: str
    passthrough: list[str]


def corpus_layout(schema: pa.Schema, source: str, overrides: Mapping[str, str] | None = None) -> CorpusLayout:
    overrides = overrides or {}
    names = list(schema.names)
    text = _find(names, CORPUS_TEXT, CORPUS_ALIASES, overrides, source, True)
    _require_type(schema, text, CORPUS_TEXT, is_text_type, "text", source)
    id_column = _find(names, CORPUS_ID, CORPUS_ALIASES, overrides, source, False)
    if id_column:
        _require_type(schema, id_column, CORPUS_ID, _is_id_type, "text or integer", source)
    return CorpusLayout(id=id_column, text=text, passthrough=[n for n in names if n not in (text, id_column)])


def canonicalize_corpus(table: pa.Table, layout: CorpusLayout) -> Canonical:
    text = pc.cast(_column(table, layout.text), pa.string())
    columns = {CORPUS_ID: _ids(_column(table, layout.id) if layout.id else None, text), CORPUS_TEXT: text}
    _add_passthrough(columns, table, layout.passthrough)
    out = pa.table(columns)
    blank = blank_mask(text)
    rejected = out.filter(pa.array(blank))
    if rejected.num_rows:
        rejected = rejected.append_column(REASON, pa.array([EMPTY_TEXT] * rejected.num_rows, pa.string()))
        rejected = rejected.append_column(DETAIL, pa.array(["text is null or blank"] * rejected.num_rows, pa.string()))
    return Canonical(kept=out.filter(pa.array(~blank)), rejected=rejected, rows_in=out.num_rows)

from __future__ import annotations

from typing import TYPE_CHECKING

from cltool.dataset.columns import ANCHOR, EMBEDDING_SUFFIX, POSITIVE
from cltool.validate.checks.registry import Result, from_problems, register

if TYPE_CHECKING:
    from cltool.validate.read import Data
    from cltool.validate.rules import Rules


@register("schema", "the required columns are there, texts are text, embeddings are fixed-size and agree",
          order=1, required_columns=[ANCHOR, POSITIVE],
          embedding_dim=None)  # every *_embedding column must have it (None: they must agree)
def check_schema(t: Data, rules: Rules, examples: int, against: Data | None) -> Result:
    import pyarrow as pa

    from cltool.dataset.pairs import is_text_type

    schema, problems = t.dataset.schema, []
    for column in rules.required_columns:
        if column not in schema.names:
            problems.append(f"missing column {column!r}")
        elif column in (ANCHOR, POSITIVE) and not is_text_type(schema.field(column).type):
            problems.append(f"{column} is {schema.field(column).type}, not text")
    dims = {f.name: f.type.list_size for f in schema if f.name.endswith(EMBEDDING_SUFFIX)
            and pa.types.is_fixed_size_list(f.type)}
    for f in schema:
        if f.name.endswith(EMBEDDING_SUFFIX) and not pa.types.is_fixed_size_list(f.type) and not (
                pa.types.is_list(f.type) and pa.types.is_fixed_size_list(f.type.value_type)):
            problems.append(f"{f.name} is {f.type}, not a fixed-size list of floats")
    if rules.embedding_dim is not None:
        problems += [f"{name} has {dim} dimensions, not {rules.embedding_dim}" for name, dim in dims.items()
                     if dim != rules.embedding_dim]
    elif len(set(dims.values())) > 1:
        problems.append("embedding columns of different dimensions: " + ", ".join(f"{k} {v}" for k, v in dims.items()))
    value = {"columns": len(schema.names), "embedding_dims": dims}
    limit = {"required": rules.required_columns, "embedding_dim": rules.embedding_dim}
    return from_problems(value, limit, problems, "ok")

from __future__ import annotations

from typing import TYPE_CHECKING

from cltool.dataset.columns import ANCHOR, NEGATIVES, POSITIVE
from cltool.validate.checks.registry import Result, register, skipped, within

if TYPE_CHECKING:
    from cltool.validate.read import Data
    from cltool.validate.rules import Rules


@register("empty_text", "no null or blank anchor, positive or negative", order=2, max_empty_text=0)
def check_empty_text(t: Data, rules: Rules, examples: int, against: Data | None) -> Result:
    if ANCHOR not in t.table.column_names or POSITIVE not in t.table.column_names:
        return skipped(rules.max_empty_text, "no anchor and positive columns")
    import numpy as np

    from cltool.dataset.pairs import blank_mask

    bad = blank_mask(t.table.column(ANCHOR).combine_chunks()) | blank_mask(t.table.column(POSITIVE).combine_chunks())
    if NEGATIVES in t.table.column_names:
        for r, row in enumerate(t.table.column(NEGATIVES).to_pylist()):
            if any(x is None or not x.strip() for x in (row or ())):
                bad[r] = True
    rows = np.nonzero(bad)[0]
    return within(int(len(rows)), rules.max_empty_text,
                  f"{len(rows):,} rows with a null or blank anchor, positive or negative",
                  [t.example(int(r)) for r in rows[:examples]])

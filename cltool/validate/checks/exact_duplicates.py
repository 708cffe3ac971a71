from __future__ import annotations

from typing import TYPE_CHECKING

from cltool.validate.checks.registry import Result, register, skipped, within

if TYPE_CHECKING:
    from cltool.validate.read import Data
    from cltool.validate.rules import Rules


@register("exact_duplicates", "no (anchor, positive) pair repeated, after dedup's normalisation",
          order=3, max_exact_duplicate_rate=0.0)
def check_exact_duplicates(t: Data, rules: Rules, examples: int, against: Data | None) -> Result:
    if not t.anchors:
        return skipped(rules.max_exact_duplicate_rate, "no anchor and positive columns")
    import pyarrow as pa
    import pyarrow.compute as pc

    from cltool.dedup.text import DEFAULT_NORMALIZATION, exact_keys, joined, normalize

    # the normalisation of `cltool dedup --method exact` by default, so that a deduplicated table passes
    texts = [pc.fill_null(normalize(pa.array(c, pa.string()), DEFAULT_NORMALIZATION), "")
             for c in (t.anchors, t.positives)]
    first: dict[bytes, int] = {}
    found = []
    for r, key in enumerate(exact_keys(joined(texts))):
        seen = first.setdefault(key, r)
        if seen != r:
            found.append((r, seen))
    rate = len(found) / len(t.anchors)
    return within(round(rate, 6), rules.max_exact_duplicate_rate,
                  f"{len(found):,} rows repeat an earlier (anchor, positive) pair (after NFKC, case and whitespace "
                  "normalisation, as in cltool dedup)", [t.example(r, duplicate_of_row=s) for r, s in found[:examples]])

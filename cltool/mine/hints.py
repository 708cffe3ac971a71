"""What mine's report (and emit's, for data mined too shallow) tells the user to change when anchors are
left short of negatives: read off mine's summary, importing nothing heavy."""

from __future__ import annotations

from typing import Any

# The rules a user can loosen, the option that sets each, and which way loosens it. The others
# (the positive by id or text, the anchor itself, a text already chosen) are never loosened.
RULE_OPTIONS = {
    "near_duplicate": ("--near-duplicate", "raise --near-duplicate (or set it off)"),
    "max_score": ("--max-score", "raise --max-score"),
    "absolute_margin": ("--absolute-margin", "lower --absolute-margin"),
    "relative_margin": ("--relative-margin", "lower --relative-margin (or set it off)"),
    "min_score": ("--min-score", "lower --min-score"),
}


def loosen_hint(summary: dict[str, Any] | None) -> str | None:
    """What to loosen for anchors left short: the loosenable rule that removed the most candidates,
    from mine's summary (`removed_by_rule`), with its count and what to change; None where no such
    rule removed any."""
    removed = {rule: count for rule, count in ((summary or {}).get("removed_by_rule") or {}).items()
               if rule in RULE_OPTIONS and count}
    if not removed:
        return None
    rule, count = max(removed.items(), key=lambda item: item[1])
    return f"its {rule.replace('_', '-')} rule removed the most candidates ({count:,}): {RULE_OPTIONS[rule][1]}"

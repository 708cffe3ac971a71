"""Validate's checks, registered by name (see registry.py); importing this package registers them."""

from cltool.validate.checks.registry import CHECKS, FAIL, PASS, SKIP, Check, Result, default_limits, register

# each module registers its check; in this order they run and are reported
from cltool.validate.checks import (  # noqa: E402, F401, I001
    schema, empty_text, exact_duplicates, near_duplicates, positive_in_negatives, near_duplicate_negatives,
    negatives_per_anchor, score_sanity, mismatched_pairs, manifest, contamination,
)

__all__ = ["CHECKS", "FAIL", "PASS", "SKIP", "Check", "Result", "default_limits", "register"]

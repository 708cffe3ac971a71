"""Validate's checks, registered by name (see registry.py): one module per check, which the registry
imports when it is first read, and runs and reports in their registered `order`. `similar.py` is
shared by the near-duplicate checks, not a check."""

from cltool.validate.checks.registry import CHECKS, FAIL, PASS, SKIP, Check, Result, default_limits, register

__all__ = ["CHECKS", "FAIL", "PASS", "SKIP", "Check", "Result", "default_limits", "register"]

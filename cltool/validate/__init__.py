"""`cltool validate`: data checks for CI. Each check measures one thing, compares it with a limit,
and keeps a few offending rows; the command fails (exit 1) when any check fails.

Checks are registered by name with their limits' defaults (checks/registry.py, one module per
check). Limits come from those defaults, a TOML rules file (`[limits]`, the names of `Rules`), and
`--limit NAME=VALUE` flags, in that order. A check whose columns the table does not have is
skipped, and says so. A training file that emit wrote is read back by `training.py`, its columns
mapped onto the pairs table (what could not be mapped is in the report's `training_file.notes`).
"""

from cltool.reexport import lazy

__all__ = ["CHECKS", "FAIL", "PASS", "SKIP", "Check", "Result", "Rules", "junit_xml", "load_rules", "register",
           "validate"]

# re-exported when asked for: the CLI imports the strategies' registry at start-up, not the step
__getattr__ = lazy(__name__, {
    "CHECKS": "checks", "FAIL": "checks", "PASS": "checks", "SKIP": "checks", "Check": "checks", "Result":
    "checks", "register": "checks", "junit_xml": "junit", "Rules": "rules", "load_rules": "rules", "validate":
    "run",
})

"""`cltool run`: a chain declared once in TOML, each step skipped while its output is up to date
(runner.py)."""

from cltool.pipeline.runner import COMMANDS, Step, load, run, up_to_date

__all__ = ["COMMANDS", "Step", "load", "run", "up_to_date"]

"""The command line: the Typer app, and the one place errors become exit codes (app.py); one
module per command, each a thin layer over the library (common.py holds what they share)."""

from cltool.cli.app import app, main

__all__ = ["app", "main"]

"""`cltool report`: one self-contained HTML page about a mined dataset (page.py gathers and
renders, svg.py draws)."""

from cltool.report.page import gather, render, report

__all__ = ["gather", "render", "report"]

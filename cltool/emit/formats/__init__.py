"""Emit's formats, registered by name (see registry.py); importing this package registers them."""

from cltool.emit.formats.registry import FORMATS, Format, Line, LineTexts, help_text, register

# each module registers its format; in this order --format's error message lists them
from cltool.emit.formats import triplet, n_tuple, labeled_pair, labeled_list, bge  # noqa: E402, F401, I001

__all__ = ["FORMATS", "Format", "Line", "LineTexts", "help_text", "register"]

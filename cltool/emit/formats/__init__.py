"""Emit's formats, registered by name (see registry.py): one module per format, which the registry
imports when it is first read, and lists in their registered `order` (--format's help and errors)."""

from cltool.emit.formats.registry import FORMATS, Format, Line, LineTexts, help_text, register

__all__ = ["FORMATS", "Format", "Line", "LineTexts", "help_text", "register"]

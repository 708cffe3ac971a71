"""Dedup's methods, registered by name (see registry.py); the registry imports each module here when
it is first read, and runs them in their registered `order`."""

from cltool.dedup.methods.registry import METHODS, Job, Method, register, removed_by

__all__ = ["METHODS", "Job", "Method", "register", "removed_by"]

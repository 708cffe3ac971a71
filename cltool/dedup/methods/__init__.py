"""Dedup's methods, registered by name (see registry.py); importing this package registers them."""

# each registers itself on import; their run order is their registered `order`
from cltool.dedup.methods import exact, minhash, semantic, entropy  # noqa: F401, I001
from cltool.dedup.methods.registry import METHODS, Job, Method, register, removed_by

__all__ = ["METHODS", "Job", "Method", "register", "removed_by"]

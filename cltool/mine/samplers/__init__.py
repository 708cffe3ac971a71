"""How mine picks each anchor's negatives from the candidates that pass every rule: one module per
sampler, registered by name (`--sampling NAME`). A new sampler is one module here that registers
itself with `@register`, and its import below."""

# each registers itself on import, in the order that messages list them
from cltool.mine.samplers import top, uniform, simans, semi_hard  # noqa: F401, I001
from cltool.mine.samplers.base import SAMPLERS, Option, Pool, Sampler, register

__all__ = ["SAMPLERS", "Option", "Pool", "Sampler", "register"]

"""How mine picks each anchor's negatives from the candidates that pass every rule: one module per
sampler, registered by name (`--sampling NAME`). A new sampler is one module here: a `Sampler` class
with `@register`, its `name`, its `Options` (if it has any) and `pick`. The registry finds it."""

from cltool.mine.samplers.base import SAMPLERS, Pool, Sampler, register

__all__ = ["SAMPLERS", "Pool", "Sampler", "register"]

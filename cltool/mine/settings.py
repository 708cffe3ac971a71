"""What the user decides for `cltool mine`: the window, the rules, the sampler, the search."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from cltool.options import AUTO
from cltool.errors import UsageError
from cltool.mine.samplers import SAMPLERS
from cltool.options import Options, refuse_unread
from cltool.options import check_seed

if TYPE_CHECKING:
    import numpy as np


DEFAULT_WINDOW_END = 30  # without --range-max, a window ends at this rank or deeper


@dataclass(frozen=True)
class Rules:
    """The score rules a negative must pass (None: off); see `cltool.kernels.mine`."""

    max_score: float | None = None
    min_score: float | None = None
    absolute_margin: float | None = None
    relative_margin: float | None = None
    near_duplicate: float | None = None


@dataclass
class Settings:
    num_negatives: int = 3
    # the window: ranks 3 to 30 at least, sampled at random (below). Chosen on bench/outcome.py's dev
    # sets, where the model that mines is the one being trained: its very top candidates are the
    # likeliest false negatives (texts that say what the positive says), and a random draw from
    # ranks 3-30 trained as well as or better than "top" with any rule (README, "Training outcome")
    range_min: int = 3
    range_max: int | None = None  # default: see windows()
    max_score: float | None = None
    min_score: float | None = None
    absolute_margin: float | None = None
    # off by default, measured: on bench/outcome.py's two real sets a 0.05 margin trained worse models
    # (sentence-transformers' own miner: -0.013 and -0.005 nDCG@10 against no margin) by removing hard
    # true negatives; the near-duplicate rule below catches the false negatives it was meant for
    relative_margin: float | None = None
    # a candidate this similar to one of the anchor's positives says the same thing: a false negative.
    # "auto" (the default) reads the threshold off the data: more similar to a positive than 99% of
    # random pairs of its texts are, under the model that embedded them (cltool.calibration); a
    # number is an absolute cosine, None is off
    near_duplicate: float | str | None = AUTO
    sampling: str = "random"  # a name in cltool.mine.samplers.SAMPLERS
    # the values given for the chosen sampler's options, by name (its Options; the rest: their defaults)
    sampling_options: dict[str, Any] = field(default_factory=dict)
    seed: int = 1
    index: str = "auto"
    nprobe: int | None = None
    nlist: int | None = None
    # an approximate search (ivf, hnsw) is measured against exact search on a sample of anchors first:
    # IVF's nprobe is raised until recall@10 reaches this, or exact search runs (cltool.mine.recall)
    target_recall: float = 0.95
    min_negatives: int = 0
    # an anchor short of negatives after the rules is searched again, its window 4x as deep each
    # round, up to this rank (only when --range-max is not given: a window the user sets is kept)
    max_window: int = 1024
    # hub control: no candidate a negative of more than this many anchors (None: no cap; mine/reuse.py)
    max_reuse: int | None = None
    engine: str | None = None  # local or ray (default: CLTOOL_ENGINE, else local)
    ray_address: str | None = None

    def check(self) -> None:
        from cltool.engine import resolve

        check_seed(self.seed)
        self.engine = resolve(self.engine)
        if self.engine == "ray" and self.index == "hnsw":  # before any loading, not after
            raise UsageError("--index hnsw runs on the local engine only",
                             hint="use --index flat or ivf with --engine ray")
        if not 0.0 < self.target_recall <= 1.0:
            raise UsageError(f"--target-recall is a share above 0 and at most 1, not {self.target_recall}")
        if self.num_negatives < 1:
            raise UsageError(f"--num-negatives must be at least 1, not {self.num_negatives}")
        if self.range_min < 0:
            raise UsageError(f"--range-min must be 0 or more, not {self.range_min}")
        if self.range_max is not None and self.range_max - self.range_min < self.num_negatives:
            raise UsageError(f"the window --range-min {self.range_min} .. --range-max {self.range_max} holds fewer "
                             f"than --num-negatives {self.num_negatives} candidates",
                             hint="widen the window or ask for fewer negatives")
        if self.sampling not in SAMPLERS:
            raise UsageError(f"--sampling must be one of {SAMPLERS.names()}, not {self.sampling!r}")
        refuse_unread(self.sampling_options, SAMPLERS, {self.sampling}, "--sampling {name}")
        self.sampler_options()
        for name in ("absolute_margin", "relative_margin"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise UsageError(f"--{name.replace('_', '-')} must be 0 or more, not {value}")
        if isinstance(self.near_duplicate, str):
            if self.near_duplicate != AUTO:
                raise UsageError(f"--near-duplicate takes auto, a cosine or off, not {self.near_duplicate!r}")
        elif self.near_duplicate is not None and not -1.0 <= self.near_duplicate <= 1.0:
            raise UsageError(f"--near-duplicate is a cosine between -1 and 1, not {self.near_duplicate}")
        if not 0 <= self.min_negatives <= self.num_negatives:
            raise UsageError(f"--min-negatives must lie between 0 and --num-negatives ({self.num_negatives}), "
                             f"not {self.min_negatives}")
        if self.max_window < 0:
            raise UsageError(f"--max-window must be 0 or more, not {self.max_window}")
        if self.max_reuse is not None and self.max_reuse < 1:
            raise UsageError(f"--max-reuse must be 1 or more (or left out: no cap), not {self.max_reuse}")

    def sampler_options(self) -> Options:
        """The chosen sampler's options, checked."""
        return SAMPLERS[self.sampling].Options.of(self.sampling_options, self)

    def params(self) -> dict[str, Any]:
        """The manifest's record of the settings: the chosen sampler's options in place of what was given."""
        params = {k: v for k, v in vars(self).items() if k != "sampling_options"}
        return {**params, **self.sampler_options().values()}

    @property
    def rules(self) -> Rules:
        if self.near_duplicate == AUTO:
            raise ValueError("the near-duplicate threshold is read off the data before the rules apply")
        return Rules(**{rule.name: getattr(self, rule.name) for rule in fields(Rules)})

    @property
    def deepens(self) -> bool:
        return self.range_max is None and self.max_window > 0

    def windows(self, positives: np.ndarray) -> np.ndarray:
        """Each anchor's range_max: the one given, or range_min + sentence-transformers' depth when a
        rule is set, per anchor (its positives take room among the ranks, so an anchor with many looks
        deeper), and never shallower than rank DEFAULT_WINDOW_END: a random draw needs room to be random."""
        import numpy as np

        if self.range_max is not None:
            return np.full(len(positives), self.range_max, dtype=np.int64)
        return np.maximum(self._depth(np.maximum(positives, 1).astype(np.int64)), DEFAULT_WINDOW_END)

    def shallowest_window(self) -> int:
        """The window of an anchor with one positive, the least of `windows` (in Python's integers: an
        -n or --range-min beyond int64 is refused later, with its reason, not overflowed here)."""
        return self.range_max if self.range_max is not None else max(self._depth(1), DEFAULT_WINDOW_END)

    def _depth(self, positives):
        return self.range_min + 10 * self.num_negatives + 2 * positives

"""What `cltool dedup` is asked to do: the methods, the deciding columns and each method's options."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cltool.dedup.text import DEFAULT_NORMALIZATION
from cltool.dedup.semantic import DEFAULT_PROBES
from cltool.errors import UsageError
from cltool.step import check_seed


@dataclass
class Settings:
    methods: tuple[str, ...] = ("exact", "minhash")
    on: tuple[str, ...] | None = None
    threshold: float = 0.8
    ngram: int = 5
    char_ngrams: bool = False
    num_perm: int = 128
    seed: int = 1
    bands: int | None = None
    rows: int | None = None
    eps: tuple[float, ...] = (0.05,)
    clusters: int | None = None
    probes: int = DEFAULT_PROBES  # a row is compared with the rows of this many nearest clusters
    keep: str = "farthest"
    normalization: tuple[str, ...] = DEFAULT_NORMALIZATION
    min_entropy: float = 1.0
    min_compression_ratio: float = 0.2
    engine: str | None = None  # local or ray (default: CLTOOL_ENGINE, else local); exact and entropy run here
    ray_address: str | None = None
    # Report what each method would remove and write nothing. A setting, not a keyword of `dedup`: it
    # decides what the step does (several --eps values are allowed only with it), so `check` needs it.
    dry_run: bool = False

    def check(self) -> None:
        from cltool.dedup.methods import METHODS
        from cltool.engine import resolve

        check_seed(self.seed)
        self.engine = resolve(self.engine)
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods:
            raise UsageError(f"--method takes one or more of {', '.join(METHODS)}; got {', '.join(unknown) or 'none'}")
        for method in METHODS.values():  # chosen or not: a bad value of any option is a mistake
            if method.check is not None:
                method.check(self)

    def params(self, on: tuple[str, ...], against: str | None) -> dict[str, Any]:
        """The manifest's record of the settings (the dry-run mode is not one: it writes no manifest)."""
        params = {"methods": list(self.methods),
                  **{k: v for k, v in vars(self).items() if k not in ("methods", "dry_run")}, "against": against}
        params["on"], params["eps"], params["normalization"] = list(on), list(self.eps), list(self.normalization)
        return params

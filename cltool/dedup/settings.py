"""What `cltool dedup` is asked to do: the methods, the deciding columns, and the values given for the
chosen methods' options (each method declares its own, `cltool.dedup.methods`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cltool.errors import UsageError
from cltool.options import Options, check_seed, refuse_unread


@dataclass
class Settings:
    methods: tuple[str, ...] = ("exact", "minhash")
    on: tuple[str, ...] | None = None
    # the values given for the chosen methods' options, by name (--threshold is `threshold`); the rest
    # take the defaults their method declares
    method_options: dict[str, Any] = field(default_factory=dict)
    seed: int = 1  # minhash permutations and k-means
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
            raise UsageError(f"--method takes one or more of {METHODS.names()}; got {', '.join(unknown) or 'none'}")
        refuse_unread(self.method_options, METHODS, set(self.methods), "--method {name}")
        self.options()

    def options(self) -> dict[str, Options]:
        """Each chosen method's options, checked (in run order)."""
        from cltool.dedup.methods import METHODS

        return {name: method.Options.of(self.method_options, self) for name, method in METHODS.items()
                if name in self.methods}

    def params(self, on: tuple[str, ...], against: str | None) -> dict[str, Any]:
        """The manifest's record of the settings (the dry-run mode is not one: it writes no manifest):
        the chosen methods' options in place of what was given."""
        params: dict[str, Any] = {"methods": list(self.methods), "on": list(on)}
        params.update((k, v) for k, v in vars(self).items() if k not in ("methods", "on", "method_options", "dry_run"))
        for options in self.options().values():
            params.update((k, list(v) if isinstance(v, tuple) else v) for k, v in options.values().items())
        params["against"] = against
        return params

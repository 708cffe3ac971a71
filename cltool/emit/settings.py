"""What the user decides for `cltool emit`: the format, how many negatives, the splits, and what
happens to anchors short of negatives."""

from __future__ import annotations

from dataclasses import dataclass, field

from cltool.emit.formats import FORMATS
from cltool.errors import UsageError
from cltool.options import check_seed

SHORT_POLICIES = ("fill", "drop", "pairs")
TRAIN = "train"  # the split that gets every row the --split shares leave


@dataclass
class Settings:
    format: str = "n-tuple"
    num_negatives: int | None = None  # default: what mine was asked for, else the most any row has
    split: dict[str, float] = field(default_factory=dict)  # name -> share of the rows; the rest is train
    seed: int = 1
    shuffle: bool = False
    include_scores: bool = False
    max_rows: int | None = None
    short: str = "fill"
    prompt: str | None = None

    def check(self) -> None:
        check_seed(self.seed)
        if self.format not in FORMATS:
            raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {self.format!r}")
        if self.short not in SHORT_POLICIES:
            raise UsageError(f"--short must be one of {', '.join(SHORT_POLICIES)}, not {self.short!r}")
        if self.num_negatives is not None and self.num_negatives < 1:
            raise UsageError(f"--num-negatives must be at least 1, not {self.num_negatives}")
        if self.max_rows is not None and self.max_rows < 1:
            raise UsageError(f"--max-rows must be at least 1, not {self.max_rows}")
        if any(not 0.0 < share < 1.0 for share in self.split.values()) or sum(self.split.values()) >= 1.0:
            raise UsageError("--split shares must each lie in (0, 1) and leave some rows for train",
                             hint="e.g. --split dev=0.05 or --split dev=0.05,test=0.05")
        if TRAIN in self.split:
            raise UsageError("--split names the held-out splits; train gets the rest", hint="e.g. --split dev=0.05")
        if self.prompt is not None and not FORMATS[self.format].takes_prompt:
            with_prompt = " or ".join(name for name, fmt in FORMATS.items() if fmt.takes_prompt)
            raise UsageError(f"--prompt is a field of the {with_prompt} format",
                             hint=f"add --format {with_prompt}, or leave --prompt out")


def parse_split(spec: str | None) -> dict[str, float]:
    """`dev=0.05,test=0.05` -> {"dev": 0.05, "test": 0.05}."""
    out: dict[str, float] = {}
    for item in (spec or "").split(","):
        if not item.strip():
            continue
        name, _, share = item.partition("=")
        try:
            out[name.strip()] = float(share)
        except ValueError:
            raise UsageError(f"--split takes NAME=SHARE pairs, like dev=0.05, not {item!r}") from None
        if not name.strip().replace("-", "").replace("_", "").isalnum():
            raise UsageError(f"a split name is letters, digits, - and _, not {name!r}")
    return out

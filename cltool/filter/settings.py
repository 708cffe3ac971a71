"""What the user decides for `cltool filter`: the judges, the vote, their thresholds, the refill."""

from __future__ import annotations

from dataclasses import dataclass

from cltool.calibration import AUTO
from cltool.errors import UsageError
from cltool.filter.judges import JUDGES, parse_judges
from cltool.step import check_seed


@dataclass
class Settings:
    # signals mine did not use: word overlap and MinHash clusters. The paraphrase judge is mine's
    # --near-duplicate rule under the same model, so after mine it would be a pass that removes
    # nothing; give it for negatives that mine did not choose (an ingested file, another miner)
    judges: tuple[str, ...] = ("lexical", "duplicate-cluster")
    vote: str = "any"
    ratio: float = 0.95
    max_score: float | None = None
    paraphrase_threshold: float | str = AUTO  # mine's --near-duplicate default: the same rule, read off the data
    lexical_threshold: float = 0.9
    cluster_threshold: float = 0.8
    cluster_ngram: int = 5
    num_perm: int = 128
    clusters_from: str | None = None
    min_negatives: int = 0
    candidates: str | None = None
    batch_size: int = 32
    device: str = "cpu"
    seed: int = 1

    def check(self) -> None:
        from cltool.dedup.near import MAX_PERMUTATIONS

        check_seed(self.seed)
        self.votes_needed()
        if not 1 <= self.num_perm <= MAX_PERMUTATIONS:
            raise UsageError(f"num_perm must lie in 1 .. {MAX_PERMUTATIONS}, not {self.num_perm:,}")
        if not 0.0 < self.ratio <= 1.0:
            raise UsageError(f"--ratio must lie in (0, 1], not {self.ratio}")
        if self.paraphrase_threshold is None:
            raise UsageError("--paraphrase-threshold cannot be off", hint="leave out --judge paraphrase instead")
        if self.paraphrase_threshold != AUTO and not -1.0 <= self.paraphrase_threshold <= 1.0:
            raise UsageError(f"--paraphrase-threshold takes auto or a cosine between -1 and 1, not "
                             f"{self.paraphrase_threshold}")
        for name in ("lexical_threshold", "cluster_threshold"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise UsageError(f"--{name.replace('_', '-')} must lie in (0, 1], not {getattr(self, name)}")
        if self.min_negatives < 0:
            raise UsageError(f"--min-negatives must be 0 or more, not {self.min_negatives}")
        chosen = {name for name, _ in parse_judges(list(self.judges))}
        for name, judge in JUDGES.items():
            for option in judge.only_with:
                if getattr(self, option) and name not in chosen:
                    raise UsageError(f"--{option.replace('_', '-')} is read by the {name} judge",
                                     hint=f"add --judge {name}")

    def votes_needed(self) -> int:
        """How many judges must flag a negative (also checks the judges and the vote)."""
        judges = parse_judges(list(self.judges))
        if not judges:
            raise UsageError("give at least one --judge")
        if self.vote == "any":
            return 1
        if self.vote == "all":
            return len(judges)
        try:
            needed = int(self.vote)
        except ValueError:
            raise UsageError(f"--vote takes any, all or a number, not {self.vote!r}") from None
        if needed < 1:
            raise UsageError(f"--vote must be at least 1 (a judge must flag a negative), not {needed}")
        if needed > len(judges):
            raise UsageError(f"--vote {needed} asks more judges than the {len(judges)} given")
        return needed

"""What the user decides for `cltool filter`: the judges, the vote, the judges' options, the refill,
and the pair judges with their vote. Each judge declares its own options (`Judge.Options`); this holds
the values the user gave, by name, and checks only the chosen judges' ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cltool.errors import UsageError
from cltool.filter.judges import JUDGES, parse_judges
from cltool.options import Options, check_seed, refuse_unread


@dataclass
class Settings:
    # signals mine did not use: word overlap and MinHash clusters. The paraphrase judge is mine's
    # --near-duplicate rule under the same model, so after mine it would be a pass that removes
    # nothing; give it for negatives that mine did not choose (an ingested file, another miner)
    judges: tuple[str, ...] = ("lexical", "duplicate-cluster")
    vote: str = "any"
    # the chosen judges' options the user gave, by name (lexical_threshold, ratio, ...): the rest are
    # their defaults (each judge's Options)
    judge_options: dict[str, Any] = field(default_factory=dict)
    min_negatives: int = 0
    candidates: str | None = None
    batch_size: int = 32
    device: str = "cpu"
    seed: int = 1
    # pair judges (cltool.filter.pair_judges): off by default. On bench/outcome.py's four real sets the
    # two consistency judges together found >= 90% of simulated swapped positives at >= 90% precision on
    # three, but on clean data they also removed 1-3% of the pairs there and a third of the dictionary
    # set's (a model that cannot tell rare words apart ranks their right definitions low)
    pair_judges: tuple[str, ...] = ()
    pair_vote: str = "all"
    mismatch_share: float = 0.05  # a share a swapped positive passes 95% of the time, on any cosine scale

    def check(self) -> None:
        check_seed(self.seed)
        self.votes_needed()
        chosen = self.chosen()
        refuse_unread(self.judge_options, JUDGES, set(chosen), "--judge {name}")
        for name in chosen:
            self.options_of(name)
        if self.min_negatives < 0:
            raise UsageError(f"--min-negatives must be 0 or more, not {self.min_negatives}")
        self.pair_votes_needed()
        if not 0.0 <= self.mismatch_share < 1.0:
            raise UsageError(f"--mismatch-share must lie in [0, 1), not {self.mismatch_share}")
        if not self.pair_votes_needed():
            for option in ("pair_vote", "mismatch_share"):
                if getattr(self, option) != getattr(Settings, option):
                    raise UsageError(f"--{option.replace('_', '-')} is read by the pair judges",
                                     hint="add --pair-judge consistency --pair-judge anchor-consistency")

    def chosen(self) -> list[str]:
        """The judges' names, in the order given."""
        return [name for name, _ in parse_judges(list(self.judges))]

    def options_of(self, judge: str) -> Options:
        """The options of `judge` (a registered name), from the values given, checked."""
        return JUDGES[judge].Options.of(self.judge_options, self)

    def params(self) -> dict[str, Any]:
        """What the manifest records: the step's settings and the chosen judges' options, by name."""
        params = {k: v for k, v in vars(self).items() if k != "judge_options"}
        for name in self.chosen():
            params.update(self.options_of(name).values())
        return params

    def votes_needed(self) -> int:
        """How many judges must flag a negative (also checks the judges and the vote)."""
        judges = parse_judges(list(self.judges))
        if not judges:
            raise UsageError("give at least one --judge")
        return _votes(self.vote, len(judges), "--vote", "judge")

    def pair_votes_needed(self) -> int:
        """How many pair judges must flag a row (0: no pair judge; also checks the judges and the vote)."""
        from cltool.filter.pair_judges import parse_pair_judges

        judges = parse_pair_judges(list(self.pair_judges))
        if not judges:
            return 0
        return _votes(self.pair_vote, len(judges), "--pair-vote", "pair judge")


def _votes(vote: str, judges: int, option: str, what: str) -> int:
    """any, all or a number of `judges` -> the number of them that must flag."""
    if vote == "any":
        return 1
    if vote == "all":
        return judges
    try:
        needed = int(vote)
    except ValueError:
        raise UsageError(f"{option} takes any, all or a number, not {vote!r}") from None
    if needed < 1:
        raise UsageError(f"{option} must be at least 1 (a {what} must flag), not {needed}")
    if needed > judges:
        raise UsageError(f"{option} {needed} asks more {what}s than the {judges} given")
    return needed

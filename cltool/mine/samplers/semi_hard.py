"""`--sampling semi-hard`: skip the hardest `--semi-hard-skip` eligible candidates and take the next
ones in rank order. The hardest candidates that pass every rule are still the likeliest false
negatives; InterCLR (Xie et al., 2022) found semi-hard negatives more reliable than the very hardest.
An anchor with too few beyond the skipped ones takes back the skipped ones nearest the cut, so no
anchor loses a negative. Deterministic: no random draw.
"""

from __future__ import annotations

from dataclasses import dataclass

from cltool.mine.samplers.base import Pool, Sampler, register
from cltool.options import Options, option


@register
class SemiHard(Sampler):
    name = "semi-hard"
    help = "skip the hardest --semi-hard-skip, take the next"

    @dataclass(frozen=True)
    class Options(Options):
        # skip one: the hardest survivor of the rules is the likeliest false negative left, and one keeps
        # the negatives nearly as hard as top's (--range-min skips by rank, positives included)
        semi_hard_skip: int = option(1, "How many of the hardest eligible candidates to skip (taken "
                                        "back when too few remain).", minimum=0)

    def pick(self, pool: Pool, num: int, options):
        import numpy as np

        counts = pool.counts.astype(np.int64)
        take = np.minimum(counts, num)
        # the window of `take` eligible ranks starts after the skipped ones, or earlier when that
        # would run past the last eligible one
        start = np.clip(counts - take, 0, options.semi_hard_skip)
        chosen = np.full((len(counts), num), -1, dtype=np.int32)
        if pool.ranks.shape[1] == 0:
            return chosen
        columns = np.minimum(start[:, None] + np.arange(num), pool.ranks.shape[1] - 1)
        taken = np.arange(num) < take[:, None]
        chosen[taken] = np.take_along_axis(pool.ranks, columns, axis=1)[taken]
        return chosen

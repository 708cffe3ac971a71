"""`cltool filter`: remove false negatives from mined pairs by independent judges.

1. Load (`load.py`, first pass over the input): rows are grouped into anchors by the anchor's match
   key, as `mine` does; every distinct (anchor, negative id) is one pair to judge, and every positive
   of the anchor (all its rows') is what the negative is compared with.
2. Judge (`judges/`, one module per judge, registered by name): each `--judge` flags pairs; a
   negative is false when at least `--vote` judges flag it (any = 1, all = every judge).
3. Refill (`refill.py`): an anchor left with fewer than `--min-negatives` takes the next candidates
   from a `mine --save-candidates` directory (`cltool.mine.candidates`) that pass mine's own rules
   (`cltool.mine.select.eligible`, with the settings recorded in the candidates' manifest) and then
   the same judges.
4. Write (`write.py`, second pass): every row keeps its anchor's surviving negatives, in their
   order, then the refills, and each scoring judge's score of them (`negative_paraphrase_scores`,
   ..., `negative_ce_scores` with `positive_ce_score`), so a trainer can re-weight without
   re-judging. Rows of an anchor still short go to `OUT.rejected` (too_few_negatives); every removed
   negative goes to `OUT.rejected.negatives`, one row per (anchor, negative), with the judges that
   flagged it and their scores.
"""

from cltool.reexport import lazy

__all__ = ["JUDGES", "Settings", "filter_negatives"]

# re-exported when asked for: the CLI imports the strategies' registry at start-up, not the step
__getattr__ = lazy(__name__, {"JUDGES": "judges", "filter_negatives": "run", "Settings": "settings"})

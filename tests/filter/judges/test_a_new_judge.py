"""A judge is one module in `cltool/filter/judges/`: a new one reaches `--judge`, its help, its own
option and its score column without an edit anywhere else (no settings class, no CLI file, no list)."""

import json

from tests.conftest import read_dataset, removed_negatives_of, run_cltool_with_module
from tests.filter.conftest import ROWS, mined_table

NEW_JUDGE = '''
from dataclasses import dataclass

from cltool.filter.judges.base import Judge, Verdict, best_of_positives, register
from cltool.options import Options, option


@register
class ContainsJudge(Judge):
    """A negative that holds a positive's text (or is held in it), case and spacing aside."""

    name = "contains"
    help = "the negative holds a positive's text, or the positive holds the negative's"
    order = 6
    score_column = "negative_contains_scores"

    @dataclass(frozen=True)
    class Options(Options):
        min_contained_chars: int = option(10, "the shorter text must have this many characters to count.",
                                          minimum=1)

    @classmethod
    def build(cls, argument, options, settings, cache_dir):
        return cls(options.min_contained_chars)

    def __init__(self, min_chars):
        self.min_chars = min_chars
        self.described = {"min_contained_chars": min_chars}

    def prepare(self, work):
        self.folded = [" ".join(t.lower().split()) for t in work.texts]

    def judge(self, work, pair_anchor, pair_text):
        import numpy as np

        def contains(left, right):
            out = []
            for a, b in zip(left.tolist(), right.tolist()):
                short, long = sorted((self.folded[a], self.folded[b]), key=len)
                out.append(float(len(short) >= self.min_chars and short in long))
            return np.array(out, dtype=np.float32)

        best = best_of_positives(work, pair_anchor, pair_text, contains)
        return Verdict(best >= 1.0, best, np.full(len(pair_text), np.nan, dtype=np.float32))

    def explain(self, score, reference):
        return "contains: holds a positive's text"
'''


def test_a_new_judge_is_one_module(tmp_path):
    (tmp_path / "judges").mkdir()
    (tmp_path / "judges" / "contains.py").write_text(NEW_JUDGE)
    rows = [{**ROWS[0], "negatives": ["Tip: use SORTED(xs)   to sort a list. Easy.", "lists are mutable"]}]
    source = mined_table(tmp_path / "mined", rows)
    shown = run_cltool_with_module("cltool.filter.judges", tmp_path / "judges", "filter", "--help")
    assert shown.returncode == 0, shown.stderr
    help_text = " ".join(shown.stdout.replace("│", " ").split())  # rich's panel borders aside
    assert "contains (the negative holds a positive's text" in help_text and "--min-contained-chars" in help_text
    out = tmp_path / "out"
    done = run_cltool_with_module("cltool.filter.judges", tmp_path / "judges", "filter", source, "--judge",
                                  "contains", "--min-contained-chars", "12", "-o", str(out), "-q", "--json")
    assert done.returncode == 0, done.stderr
    manifest = json.loads(done.stdout)
    assert manifest["params"]["min_contained_chars"] == 12
    kept = read_dataset(out)
    assert kept.column("negatives").to_pylist() == [["lists are mutable"]]
    assert kept.column("negative_contains_scores").to_pylist() == [[0.0]]  # the judge's own score column
    removed = read_dataset(removed_negatives_of(out))
    assert removed.column("judges").to_pylist() == [["contains"]]
    # its option belongs to it: refused without the judge, checked against its declared range
    alone = run_cltool_with_module("cltool.filter.judges", tmp_path / "judges", "filter", source,
                                   "--min-contained-chars", "12", "-o", str(tmp_path / "x"))
    assert alone.returncode == 2 and "contains" in alone.stderr
    low = run_cltool_with_module("cltool.filter.judges", tmp_path / "judges", "filter", source, "--judge",
                                 "contains", "--min-contained-chars", "0", "-o", str(tmp_path / "y"))
    assert low.returncode == 2 and "min-contained-chars" in low.stderr.replace("_", "-")

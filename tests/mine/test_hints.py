"""Hints name the cause of anchors short of negatives: emit asking more than mine was run with says
to mine again with that -n (naming what mine was run with); mine's rules leaving anchors short
names the rule that removed the most candidates and its option, in mine's report and in emit's."""

from __future__ import annotations

import re

from tests.conftest import run_cltool


def test_emit_asking_more_than_mine_was_run_with_says_mine_again(chain, tmp_path):
    result = run_cltool("emit", str(chain / "mined"), "-n", "10", "-o", str(tmp_path / "train.jsonl"))
    assert result.returncode == 0, result.stderr
    err = " ".join(result.stderr.decode().split())  # unwrapped
    assert "mine was run with -n 2" in err and "mine again with -n 10" in err
    assert "--max-window" not in err and "loosen" not in err


def test_rules_that_leave_anchors_short_are_named_with_their_option(chain, tmp_path):
    mined = tmp_path / "mined"
    result = run_cltool("mine", str(chain / "embedded"), "-n", "5", "--max-score", "0.2", "--near-duplicate", "off",
                        "-o", str(mined))
    assert result.returncode == 0, result.stderr
    err = " ".join(result.stderr.decode().split())
    assert re.search(r"anchors short of 5: its max-score rule removed the most candidates \([\d,]+\): raise "
                     r"--max-score", err), err
    result = run_cltool("emit", str(mined), "-o", str(tmp_path / "train.jsonl"))
    assert result.returncode == 0, result.stderr
    err = " ".join(result.stderr.decode().split())
    assert "mine's rules left anchors short: its max-score rule removed the most candidates" in err, err
    assert "raise --max-score" in err and "mine again" not in err


def test_the_rule_named_is_the_one_that_removed_the_most():
    from cltool.mine.hints import loosen_hint

    summary = {"removed_by_rule": {"positive_id": 900, "near_duplicate": 40, "relative_margin": 70}}
    assert loosen_hint(summary) == ("its relative-margin rule removed the most candidates (70): lower "
                                    "--relative-margin (or set it off)")
    assert loosen_hint({"removed_by_rule": {"positive_id": 3}}) is None

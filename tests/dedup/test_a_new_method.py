"""A dedup method is one module in `cltool/dedup/methods/`: a new one reaches `--method`, its help, its
own option, its turn and its rejection reason without an edit anywhere else."""

import json

from tests.conftest import read_dataset, rejected_of, run_cltool_with_module

NEW_METHOD = '''
from dataclasses import dataclass

from cltool.dedup.methods.registry import Job, register
from cltool.options import Options, option


@dataclass(frozen=True)
class TooLong(Options):
    max_chars: int = option(1000, "texts longer than this many characters go.", minimum=1)


@register("too-long", order=5, reason="too_long", options=TooLong, help="texts over --max-chars")
def too_long(job: Job) -> None:
    import numpy as np

    live = job.live
    long = np.zeros(len(live), dtype=bool)
    for text in job.rows.texts:
        lengths = np.array([len(t or "") for t in text.to_pylist()])[live]
        long |= lengths > job.options.max_chars
    hit = np.nonzero(long)[0]
    job.remove(live[hit], details=[f"over {job.options.max_chars} characters"] * len(hit))
'''


def test_a_new_method_is_one_module(tmp_path, write):
    (tmp_path / "methods").mkdir()
    (tmp_path / "methods" / "too_long.py").write_text(NEW_METHOD)
    texts = ["short one", "short one", "a rather longer text than the rest", "tiny"]
    source = str(write(tmp_path / "in", {"positive": texts}))
    shown = run_cltool_with_module("cltool.dedup.methods", tmp_path / "methods", "dedup", "--help")
    assert shown.returncode == 0, shown.stderr
    help_text = " ".join(shown.stdout.replace("│", " ").split())  # rich's panel borders aside
    assert "too-long (texts over --max-chars)" in help_text and "--max-chars" in help_text
    out = tmp_path / "out"
    done = run_cltool_with_module("cltool.dedup.methods", tmp_path / "methods", "dedup", source, "--method",
                                  "too-long,exact", "--max-chars", "20", "-o", str(out), "-q", "--json")
    assert done.returncode == 0, done.stderr
    manifest = json.loads(done.stdout)
    assert manifest["params"]["max_chars"] == 20
    assert read_dataset(out).column("positive").to_pylist() == ["short one", "tiny"]
    rejected = read_dataset(rejected_of(out)).to_pylist()
    # in their turns: exact (order 1) before too-long (order 5), whatever order --method gave
    assert [(r["positive"], r["reason"]) for r in rejected] == [("short one", "exact_duplicate"),
                                                               (texts[2], "too_long")]
    assert rejected[1]["detail"] == "over 20 characters"
    assert manifest["summary"]["removed"]["too_long"] == 1
    # its option belongs to it: refused without the method, checked against its declared range
    alone = run_cltool_with_module("cltool.dedup.methods", tmp_path / "methods", "dedup", source,
                                   "--max-chars", "20", "-o", str(tmp_path / "x"))
    assert alone.returncode == 2 and "too-long" in alone.stderr
    low = run_cltool_with_module("cltool.dedup.methods", tmp_path / "methods", "dedup", source, "--method",
                                 "too-long", "--max-chars", "0", "-o", str(tmp_path / "y"))
    assert low.returncode == 2 and "max-chars" in low.stderr.replace("_", "-")

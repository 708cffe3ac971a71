"""Emit's formats are found by their registry: a format is one module in `cltool/emit/formats/`, and
a new one reaches `--format`, its help and `emit` without an edit anywhere else."""

import json

from tests.conftest import run_cltool_with_module

NEW_FORMAT = '''
from cltool.emit.formats.registry import Format, register


@register("first-negative", order=6, library="a test's", fixed_negatives=True)
class FirstNegative(Format):
    def table(self, texts, n, include_scores, prompt):
        import pyarrow as pa

        return pa.table({"anchor": texts.anchor, "negative": [x[0] for x in texts.negatives]})
'''


def test_a_new_format_is_one_module(tmp_path, mined):
    (tmp_path / "formats").mkdir()
    (tmp_path / "formats" / "first_negative.py").write_text(NEW_FORMAT)
    source = mined(tmp_path / "mined")
    shown = run_cltool_with_module("cltool.emit.formats", tmp_path / "formats", "emit", "--help")
    assert shown.returncode == 0, shown.stderr
    assert "bge (FlagEmbedding JSONL), first-negative (a test's)." in " ".join(shown.stdout.split())
    done = run_cltool_with_module("cltool.emit.formats", tmp_path / "formats", "emit", source, "--format",
                                  "first-negative", "-n", "1", "-o", str(tmp_path / "out.jsonl"), "-q", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["summary"]["format"] == "first-negative"
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert lines[0] == {"anchor": "how do I sort a list", "negative": "reverse with xs[::-1]"}

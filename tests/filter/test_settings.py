"""filter's Settings (cltool/filter/settings.py): what is refused before any work."""


import pyarrow as pa
import pytest

from cltool.dataset.write import Output
from cltool.errors import InputError, UsageError
from cltool.filter import Settings, filter_negatives
from tests.filter.conftest import ROWS, mined_table


def test_bad_input_and_options_are_refused(tmp_path):
    plain = tmp_path / "plain"
    with Output(plain, command="test", params={}) as out:
        out.write(pa.table({"anchor": ["a"], "positive": ["b"]}))
    with pytest.raises(InputError, match="cltool mine"):
        filter_negatives(str(plain), str(tmp_path / "out"))
    source = mined_table(tmp_path / "mined", ROWS)
    for settings, message in ((Settings(judges=("lexical",), vote="2"), "more judges"),
                              (Settings(judges=("magic",)), "unknown judge"),
                              (Settings(judges=("cross-encoder",)), "needs a model"),
                              (Settings(judges=("lexical",),
                                        judge_options={"clusters_from": "x"}), "duplicate-cluster")):
        with pytest.raises(UsageError, match=message):
            filter_negatives(source, str(tmp_path / "out"), settings)

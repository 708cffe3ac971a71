"""The entropy method (cltool/dedup/methods/entropy.py): low-information texts (repeated characters
or words, a short pattern over and over) are removed as low_information, each with its detail; real
sentences, a name, CJK text and "N/A" are kept."""

from cltool.dedup import Settings, dedup
from tests.conftest import read_dataset, rejected_of


def test_entropy(tmp_path, write):
    texts = ["aaaaaaaa", "test test test test", "Return self.", "a real sentence here", "ab " * 200,
             "Shakespeare", "東京は日本の首都であり最大の都市です", "N/A"]
    src = write(tmp_path / "in", {"positive": texts})
    manifest = dedup(str(src), str(tmp_path / "out"), Settings(methods=("entropy",)))
    rejected = read_dataset(rejected_of(tmp_path / "out")).to_pylist()
    assert [r["positive"][:4] for r in rejected] == ["aaaa", "test", "ab a"]
    assert all(r["reason"] == "low_information" and r["detail"] for r in rejected)
    assert manifest["summary"]["removed"]["low_information"] == 3

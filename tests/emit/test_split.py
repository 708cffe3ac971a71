"""Grouped splits (cltool/emit/split.py): rows sharing an anchor or a positive go to one split
together, so no text straddles two splits; the same seed gives the same split."""

from cltool.emit import Settings, emit


def test_split_is_grouped_seeded_and_leak_free(tmp_path, mined, chained_rows, jsonl):
    rows = chained_rows()
    source = mined(tmp_path / "mined", rows, num_negatives=1)
    manifest = emit(source, str(tmp_path / "{split}.jsonl"), Settings(format="n-tuple", split={"dev": 0.2},
                                                                      shuffle=True, seed=7))
    train, dev = jsonl(tmp_path / "train.jsonl"), jsonl(tmp_path / "dev.jsonl")
    assert len(train) + len(dev) == 200 and 30 <= len(dev) <= 50
    for column in ("anchor", "positive"):
        assert not {r[column] for r in train} & {r[column] for r in dev}
    assert manifest["summary"]["split_leaks"] == 0
    assert (tmp_path / "train.manifest.json").is_file() and (tmp_path / "dev.manifest.json").is_file()
    emit(source, str(tmp_path / "again-{split}.jsonl"), Settings(format="n-tuple", split={"dev": 0.2},
                                                                 shuffle=True, seed=7))
    assert (tmp_path / "again-dev.jsonl").read_bytes() == (tmp_path / "dev.jsonl").read_bytes()

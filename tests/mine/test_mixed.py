"""The mixed sampler, added through the registry as one module (issue 28): its hardest --mixed-top, then
a seeded uniform draw from the eligible candidates after them; on the command line with its option."""

import numpy as np
import pytest

from cltool.errors import UsageError
from cltool.mine import SAMPLERS, Settings, mine
from cltool.mine.samplers import Pool
from tests.conftest import read_dataset, run_cltool


def pool_of(rows: list[list[int]], width: int) -> Pool:
    ranks = np.full((len(rows), width), -1, dtype=np.int32)
    for a, row in enumerate(rows):
        ranks[a, :len(row)] = row
    return Pool(ranks, np.array([len(r) for r in rows], np.int32), np.zeros((len(rows), 64), np.float32),
                np.zeros(len(rows), np.float32), np.arange(len(rows), dtype=np.uint64) * 7919)


@pytest.mark.parametrize("top", [0, 1, 2, 5])
def test_mixed_takes_the_hardest_then_draws_from_the_rest(top):
    rng = np.random.default_rng(top)
    rows = [sorted(rng.choice(60, size=m, replace=False).tolist()) for m in rng.integers(0, 20, size=80)]
    mixed, num = SAMPLERS["mixed"], 4
    got = mixed.pick(pool_of(rows, 20), num, mixed.Options(mixed_top=top))
    assert got.shape == (len(rows), num) and got.dtype == np.int32
    draws = set()
    for row, chosen in zip(rows, got.tolist()):
        picked = [r for r in chosen if r >= 0]
        assert len(picked) == min(len(row), num) and picked == sorted(picked) and len(set(picked)) == len(picked)
        assert picked[:min(top, num, len(row))] == row[:min(top, num, len(row))]  # the hardest come first
        assert set(picked) <= set(row)
        draws.add(tuple(picked))
    again = mixed.pick(pool_of(rows, 20), num, mixed.Options(mixed_top=top))
    np.testing.assert_array_equal(got, again)  # seeded per anchor
    if top >= num:
        np.testing.assert_array_equal(got, SAMPLERS["top"].pick(pool_of(rows, 20), num, mixed.Options()))


def test_mixed_end_to_end_and_on_the_command_line(tmp_path, write, random_pairs):
    pairs, docs = random_pairs(6, anchors=12, repeats=0, corpus=40)
    source, corpus = write(tmp_path / "pairs", pairs), write(tmp_path / "docs", docs)
    rules = dict(relative_margin=None, range_max=30, num_negatives=3)
    top = mine(source, str(tmp_path / "top"), Settings(sampling="top", **rules), corpus=[corpus])
    manifest = mine(source, str(tmp_path / "api"), Settings(sampling="mixed", sampling_options={"mixed_top": 1},
                                                            **rules), corpus=[corpus])
    assert manifest["params"]["sampling"] == "mixed" and manifest["params"]["mixed_top"] == 1
    assert "simans_a" not in manifest["params"]  # only the chosen sampler's options are recorded
    hardest = [r["negative_ids"][0] for r in read_dataset(tmp_path / "top").to_pylist() if r["negative_ids"]]
    mixed = [r["negative_ids"][0] for r in read_dataset(tmp_path / "api").to_pylist() if r["negative_ids"]]
    assert hardest == mixed and top["rows"] == manifest["rows"]
    run = run_cltool("mine", source, "--corpus", corpus, "-n", "3", "--range-max", "30", "--relative-margin", "off",
                     "--sampling", "mixed", "--mixed-top", "1", "-o", str(tmp_path / "cli"), "-q")
    assert run.returncode == 0, run.stderr.decode()
    assert read_dataset(tmp_path / "cli").equals(read_dataset(tmp_path / "api"))
    refused = run_cltool("mine", source, "--mixed-top", "2", "-o", str(tmp_path / "no"), "-q")
    assert refused.returncode == 2 and b"--mixed-top is read by --sampling mixed" in refused.stderr
    with pytest.raises(UsageError, match="--mixed-top must be 0 or more"):
        mine(source, str(tmp_path / "bad"), Settings(sampling="mixed", sampling_options={"mixed_top": -1}))

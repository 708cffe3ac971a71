"""The samplers registry, and the semi-hard sampler added through it: against a plain reference,
end to end, and on the command line; the random samplers are seeded."""

import numpy as np
import pyarrow as pa
import pytest

from cltool.errors import UsageError
from cltool.mine import SAMPLERS, Settings, mine
from cltool.mine.samplers import Pool
from tests.conftest import read_dataset, run_cltool


def semi_hard_reference(eligible: list[int], num: int, skip: int) -> list[int]:
    """Skip the hardest `skip`, take the next `num`; short of them, the skipped ones nearest the cut come back."""
    taken = eligible[skip:skip + num]
    back = eligible[:min(skip, len(eligible))][::-1][:num - len(taken)]
    return sorted(taken + back)


def pool_of(rows: list[list[int]], width: int) -> Pool:
    ranks = np.full((len(rows), width), -1, dtype=np.int32)
    for i, row in enumerate(rows):
        ranks[i, :len(row)] = row
    counts = np.array([len(r) for r in rows], dtype=np.int32)
    return Pool(ranks, counts, np.zeros((len(rows), 40), np.float32), np.zeros(len(rows), np.float32),
                np.zeros(len(rows), np.uint64))


@pytest.mark.parametrize("skip", [0, 1, 3])
@pytest.mark.parametrize("num", [1, 2, 5])
def test_semi_hard_skips_the_hardest_and_takes_them_back_when_short(skip, num):
    rng = np.random.default_rng(skip * 10 + num)
    rows = [sorted(rng.choice(40, size=m, replace=False).tolist()) for m in rng.integers(0, 12, size=60)]
    rows += [[], [3], list(range(skip + num)), list(range(skip + num - 1))]
    semi_hard = SAMPLERS["semi-hard"]
    got = semi_hard.pick(pool_of(rows, 14), num, semi_hard.Options(semi_hard_skip=skip))
    assert got.shape == (len(rows), num) and got.dtype == np.int32
    for row, chosen in zip(rows, got.tolist()):
        assert [r for r in chosen if r >= 0] == semi_hard_reference(row, num, skip)
        assert chosen[len(semi_hard_reference(row, num, skip)):] == [-1] * (num - min(len(row), num))


def test_semi_hard_with_no_skip_is_top():
    rows = [[0, 2, 5, 7], [1], []]
    pool = pool_of(rows, 6)
    semi_hard = SAMPLERS["semi-hard"]
    np.testing.assert_array_equal(semi_hard.pick(pool, 3, semi_hard.Options(semi_hard_skip=0)),
                                  SAMPLERS["top"].pick(pool, 3, SAMPLERS["top"].Options()))


def test_semi_hard_end_to_end_is_top_without_the_hardest_and_deterministic(tmp_path, write, random_pairs):
    pairs, docs = random_pairs(4)
    source, corpus = write(tmp_path / "pairs", pairs), write(tmp_path / "docs", docs)
    rules = dict(relative_margin=None, range_max=40)
    mine(source, str(tmp_path / "top"), Settings(num_negatives=4, sampling="top", **rules), corpus=[corpus])
    for seed in (1, 2):
        manifest = mine(source, str(tmp_path / f"semi{seed}"), Settings(num_negatives=3, sampling="semi-hard",
                                                                         seed=seed, **rules), corpus=[corpus])
        assert manifest["params"]["sampling"] == "semi-hard" and manifest["params"]["semi_hard_skip"] == 1
    top = [r["negative_ids"] for r in read_dataset(tmp_path / "top").to_pylist()]
    semi = [r["negative_ids"] for r in read_dataset(tmp_path / "semi1").to_pylist()]
    assert semi == [r["negative_ids"] for r in read_dataset(tmp_path / "semi2").to_pylist()]  # no random draw
    for hardest, picked in zip(top, semi):
        assert picked == (hardest[1:] if len(hardest) == 4 else hardest)  # short: the skipped one comes back
    assert any(len(h) == 4 for h in top)


def test_sampler_options_are_checked_by_their_sampler(tmp_path, write, random_pairs):
    pairs, _ = random_pairs(0)
    source = write(tmp_path / "pairs", pairs)
    for settings, message in (
            (Settings(sampling="semi-hard", sampling_options={"semi_hard_skip": -1}), "--semi-hard-skip must be 0"),
            (Settings(sampling="simans", sampling_options={"simans_a": -1.0}), "--simans-a must be 0 or more"),
            (Settings(sampling="top", sampling_options={"simans_a": 1.0}), "--simans-a is read by --sampling simans"),
            (Settings(sampling="hardest"), f"one of {SAMPLERS.names()}, not")):
        with pytest.raises(UsageError, match=message):
            mine(source, str(tmp_path / "out"), settings)


def test_cli_semi_hard(tmp_path, write, random_pairs):
    pairs, docs = random_pairs(5, anchors=12, repeats=0, corpus=30)
    source, corpus = write(tmp_path / "pairs", pairs), write(tmp_path / "docs", docs)
    run = run_cltool("mine", source, "--corpus", corpus, "-n", "2", "--sampling", "semi-hard", "--semi-hard-skip", "2",
                     "--range-max", "20", "-o", str(tmp_path / "out"), "-q")
    assert run.returncode == 0, run.stderr.decode()
    mine(source, str(tmp_path / "api"), Settings(num_negatives=2, sampling="semi-hard",
                                                 sampling_options={"semi_hard_skip": 2}, range_max=20), corpus=[corpus])
    assert read_dataset(tmp_path / "out").equals(read_dataset(tmp_path / "api"))


def test_an_arrow_table_is_mined_as_its_dataset_is(tmp_path, write, random_pairs):
    pairs, docs = random_pairs(6)
    source, corpus = write(tmp_path / "pairs", pairs), write(tmp_path / "docs", docs)
    table = read_dataset(tmp_path / "pairs")
    assert isinstance(table, pa.Table)
    settings = Settings(num_negatives=3, sampling="simans")
    from_path = mine(source, str(tmp_path / "path"), settings, corpus=[corpus])
    from_table = mine(table, str(tmp_path / "table"), settings, corpus=[corpus])
    assert read_dataset(tmp_path / "table").equals(read_dataset(tmp_path / "path"))
    assert from_table["rows"] == from_path["rows"]


def test_sampling_is_seeded(tmp_path, write, random_pairs):
    pairs, docs = random_pairs(1)
    source, corpus = write(tmp_path / "pairs", pairs), write(tmp_path / "docs", docs)
    runs = {}
    for name, sampling, seed in (("a", "random", 1), ("b", "random", 1), ("c", "random", 2), ("s", "simans", 1)):
        mine(source, str(tmp_path / name), Settings(num_negatives=3, sampling=sampling, seed=seed,
                                                    relative_margin=None, range_max=40), corpus=[corpus])
        runs[name] = [r["negative_ids"] for r in read_dataset(tmp_path / name).to_pylist()]
    assert runs["a"] == runs["b"] != runs["c"]
    assert all(len(set(n)) == len(n) == 3 for n in runs["c"] + runs["s"])

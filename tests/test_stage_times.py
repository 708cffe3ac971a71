"""A command's manifest accounts for its time: the stages add up to the wall time, which counts from
the process's start (the imports before the step are its "start-up" stage), as `time` would show."""

import json
import time

import pytest

from tests.conftest import manifest_of, run_cltool, write_jsonl


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stages")
    write_jsonl(folder / "pairs.jsonl", ({"anchor": f"question {i} about topic {i % 17}",
                                          "positive": f"the answer {i} concerns item {i % 23} and {i % 5}"}
                                         for i in range(200)))
    walls = {}
    steps = [("pairs", ("ingest", str(folder / "pairs.jsonl"))), ("embedded", ("embed", str(folder / "pairs"))),
             ("deduped", ("dedup", str(folder / "embedded"), "--method", "exact,minhash")),
             ("mined", ("mine", str(folder / "deduped"))), ("filtered", ("filter", str(folder / "mined"))),
             ("train", ("emit", str(folder / "filtered"), "--split", "dev=0.1"))]
    for name, args in steps:
        started = time.perf_counter()
        done = run_cltool(*args, "-o", str(folder / (name if name != "train" else "{split}.jsonl")))
        walls[name] = time.perf_counter() - started
        assert done.returncode == 0, done.stderr.decode()
    return folder, walls


@pytest.mark.parametrize("name", ["pairs", "embedded", "deduped", "mined", "filtered", "train"])
def test_stage_times_add_up_to_the_wall_time_of_the_process(chain, name):
    folder, walls = chain
    manifest = manifest_of(folder / name) if name != "train" else json.loads((folder / "train.manifest.json").read_text())
    stages, wall = manifest["stages"], manifest["wall_time_s"]
    assert stages["start-up"] > 0
    assert abs(sum(stages.values()) - wall) <= 0.1 * wall, stages
    # and the wall is the process's, bar the interpreter's own start and exit
    assert wall <= walls[name] and wall >= 0.5 * walls[name], (wall, walls[name])

"""`cltool.engine`: choosing the engine, splitting work, sizing actors to the cluster's nodes."""

import pytest

from cltool.engine import Engine, Local, Ray, cpus_per_actor, partitions, resolve
from cltool.errors import UsageError


class Cluster:
    """Ray's view of a cluster (`ray.nodes()`, `ray.cluster_resources()`) for nodes of these CPU counts."""

    def __init__(self, *cpus):
        self.cpus = cpus

    def nodes(self):
        return [{"Alive": True, "Resources": {"CPU": c}} for c in self.cpus] + [{"Alive": False,
                                                                                 "Resources": {"CPU": 64}}]

    def cluster_resources(self):
        return {"CPU": sum(self.cpus)}


@pytest.mark.parametrize("cpus,actors,expected", [((2,), 1, 2), ((2,), 2, 1), ((2,), 5, 1), ((8, 8), 3, 4),
                                                   ((16, 4), 2, 8), ((4, 4, 4), 2, 4)])
def test_actors_of_the_chosen_size_all_fit_on_the_nodes(cpus, actors, expected):
    threads = cpus_per_actor(Cluster(*cpus), actors)
    assert threads == expected
    assert sum(c // threads for c in cpus) >= actors or threads == 1


def test_partitions_cover_the_rows_in_order():
    assert partitions(10, 3) == [(0, 3), (3, 6), (6, 10)]
    assert partitions(2, 8) == [(0, 1), (1, 2)]
    assert partitions(0, 4) == [(0, 0)]


def test_engine_from_flag_or_environment(monkeypatch):
    monkeypatch.setenv("CLTOOL_ENGINE", "Ray")
    assert resolve(None) == "ray" and resolve("local") == "local"
    with pytest.raises(UsageError, match="--engine must be one of local, ray"):
        resolve("spark")


def test_the_settings_choose_the_engine_the_strategies_call():
    from cltool.dedup import Settings as DedupSettings
    from cltool.mine import Settings as MineSettings

    for Settings in (DedupSettings, MineSettings):
        local, on_ray = Settings(engine="local"), Settings(engine="ray", ray_address="ray://head:10001")
        local.check()
        on_ray.check()
        assert isinstance(Engine.of(local), Local)
        assert Engine.of(on_ray) == Ray("ray://head:10001")


def test_no_strategy_asks_which_engine_was_chosen():
    """The engine choice lives behind `Engine.of`: the steps' strategies and their helpers call work on
    it rather than testing `settings.engine` (only the settings resolve it, and embed picks its runner)."""
    from pathlib import Path

    import cltool

    root = Path(cltool.__file__).parent
    asking = [str(p.relative_to(root)) for p in root.rglob("*.py")
              if p.name not in ("settings.py", "engine.py") and p.parts[-2:] != ("embed", "run.py")
              and ('engine == "ray"' in p.read_text() or "engine == 'ray'" in p.read_text())]
    assert asking == []

"""Every numeric option of every command, given absurd values (issue 16): each run ends in exit 0, 1
or 2 (never an internal error), a refusal says one `error:` and one `hint:` line, and no value makes a
command take more than ~2x the memory or the time of its default run on the same data.

The options are read from the CLI itself, so an option added later is covered without editing this
file; options typed as text that hold numbers are listed in NUMERIC_TEXT. All runs happen in one
worker process (the imports and the model load once), each with its stderr captured and its peak
memory measured from a reset high-water mark."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

INTS = ("-1", "0", "1000000000", "99999999999999999999")
FLOATS = ("nan", "inf", "-1e308")
# options typed as text whose values are numbers (or `off`, `any`, NAME=VALUE ...)
NUMERIC_TEXT = {("dedup", "--eps"): FLOATS, ("filter", "--max-score"): FLOATS, ("filter", "--clusters"): INTS,
                ("filter", "--vote"): INTS, ("mine", "--relative-margin"): FLOATS,
                ("mine", "--absolute-margin"): FLOATS, ("mine", "--max-score"): FLOATS,
                ("mine", "--min-score"): FLOATS, ("mine", "--near-duplicate"): FLOATS}
# what each command reads, and what some options need to take effect
INPUTS = {"dedup": "embedded", "embed": "pairs", "emit": "mined", "filter": "mined", "inspect": "mined",
          "mine": "embedded", "validate": "mined"}
BASE = {"dedup": ["--method", "exact,minhash,semantic,entropy", "--on", "positive"],
        "filter": ["--judge", "paraphrase", "--judge", "lexical", "--judge", "duplicate-cluster"]}
# the index's options; a strategy's options get their strategy chosen from its registry (needs())
NEEDS = {("mine", "--nprobe"): ["--index", "ivf"], ("mine", "--nlist"): ["--index", "ivf"]}


def needs(command: str, option: str) -> list[str]:
    """What makes `option` take effect: a strategy that reads it is chosen (read off the registries)."""
    from cltool.mine.samplers import SAMPLERS
    from cltool.options import declared_by, flag_of

    if (command, option) in NEEDS:
        return NEEDS[(command, option)]
    registries = {"mine": (SAMPLERS, "--sampling")}
    if command in registries:
        registry, choose = registries[command]
        for f, owners in declared_by(registry).values():
            if flag_of(f) == option:
                return [choose, owners[0]]
    return []
WRITES = {"dedup", "embed", "emit", "filter", "mine"}


def numeric_options() -> dict[tuple[str, str], tuple[str, ...]]:
    import typer.main

    from cltool.cli.app import app

    found = dict(NUMERIC_TEXT)
    for name, command in typer.main.get_command(app).commands.items():
        for param in command.params:
            kind = getattr(getattr(param, "type_descriptor", None), "annotation", None)
            if param.param_type_name == "option" and kind in (int, float):
                found[(name, param.opts[0])] = INTS if kind is int else FLOATS
    return found


def cases(chain: Path, out: Path) -> list[dict]:
    """The default run of each command, then each numeric option with each absurd value."""
    from cltool.validate.checks import default_limits

    runs = []

    def add(command: str, extra: list[str], label: str) -> None:
        argv = [command, str(chain / INPUTS[command]), *BASE.get(command, []), *extra, "-q"]
        if command in WRITES:
            argv += ["-o", str(out / f"{len(runs)}" / ("out.jsonl" if command == "emit" else "out"))]
        runs.append({"command": command, "label": label, "argv": argv})

    for command in INPUTS:
        add(command, [], "default")
    for (command, option), values in sorted(numeric_options().items()):
        if command not in INPUTS:
            raise AssertionError(f"{command} {option}: give the command an input in INPUTS")
        for value in values:
            add(command, [*needs(command, option), f"{option}={value}"], f"{option}={value}")
    for name, value in default_limits().items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        for value in ("-1", "1e308", "nan"):
            add("validate", [f"--limit={name}={value}"], f"--limit {name}={value}")
    return runs


def worker(cases_file: str, results_file: str) -> None:
    """Run each case in this process: stderr to a file, the peak memory from a reset high-water mark."""
    from cltool.cli.app import main

    def resident(field: str) -> int:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) * 1024 for line in status if line.startswith(field))

    results = []
    for case in json.loads(Path(cases_file).read_text()):
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # the high-water mark starts again from the memory in use now
        before, started = resident("VmRSS:"), time.perf_counter()
        saved = os.dup(2)
        with open(results_file + ".err", "w+b") as err:
            os.dup2(err.fileno(), 2)
            try:
                main(case["argv"])
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
            err.seek(0)
            stderr = err.read().decode(errors="replace")
        results.append({**case, "code": code, "stderr": stderr, "seconds": time.perf_counter() - started,
                        "memory": resident("VmHWM:") - before})
    Path(results_file).write_text(json.dumps(results))


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux's /proc")
def test_no_numeric_option_value_is_an_internal_error_or_exhausts_the_machine(chain, tmp_path):
    runs = cases(chain, tmp_path / "out")
    (tmp_path / "cases.json").write_text(json.dumps(runs))
    worker_code = "import sys; from tests.test_absurd_options import worker; worker(sys.argv[1], sys.argv[2])"
    done = subprocess.run([sys.executable, "-c", worker_code, str(tmp_path / "cases.json"),
                           str(tmp_path / "results.json")], env={**os.environ, "HF_HUB_OFFLINE": "1"},
                          capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    default = {r["command"]: r for r in results if r["label"] == "default"}
    assert all(r["code"] == 0 for r in default.values()), [(r["label"], r["code"], r["stderr"]) for r in default.values()]
    failures = []
    for r in results:
        base, err = default[r["command"]], r["stderr"]
        lines = [line for line in err.splitlines() if line.strip()]
        problems = []
        if r["code"] not in (0, 1, 2):
            problems.append(f"exit {r['code']}")
        if "Traceback" in err or "internal error" in err:
            problems.append("an internal error")
        if r["code"] == 2 and not (sum(x.startswith("error: ") for x in lines) == 1
                                   and sum(x.startswith("hint: ") for x in lines) == 1):
            problems.append("not one error: and one hint: line")
        # ~2x the default run's, with room for what small data makes noise (a model load, a page of memory)
        if r["memory"] > 2 * base["memory"] + 256 * 2**20:
            problems.append(f"{r['memory'] / 2**20:.0f} MiB against the default's {base['memory'] / 2**20:.0f}")
        if r["seconds"] > 2 * base["seconds"] + 10:
            problems.append(f"{r['seconds']:.1f} s against the default's {base['seconds']:.1f}")
        if problems:
            failures.append(f"{' '.join(r['argv'][:1])} {r['label']}: {', '.join(problems)}\n  {err.strip()[-500:]}")
    assert not failures, "\n".join(failures)

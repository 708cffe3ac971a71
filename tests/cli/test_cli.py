"""The cltool process as a user meets it: exit codes, stderr, stdout, pipes, start-up imports."""

import json
import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import read_dataset, run_cltool, write_jsonl

COMMANDS = ["ingest", "embed", "dedup", "mine", "inspect"]


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_help_ends_with_a_worked_example(command):
    result = run_cltool(*([command] if command else []), "--help", env={"COLUMNS": "120"})
    assert result.returncode == 0
    text = result.stdout.decode()
    tail = text[text.rindex("Example"):]
    assert "$ cltool " in tail
    assert "╰" not in tail  # nothing (such as an options panel) comes after the example


def test_version():
    result = run_cltool("--version")
    assert result.returncode == 0 and result.stdout.decode().startswith("cltool 0.")


def test_ingest_then_inspect_json(tmp_path, pairs_rows):
    write_jsonl(tmp_path / "p.jsonl", pairs_rows)
    result = run_cltool("ingest", str(tmp_path / "p.jsonl"), "-o", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == b""  # stdout is for data and JSON only
    assert "3 rows" in result.stderr.decode() and "empty_text 2" in result.stderr.decode()
    info = run_cltool("inspect", str(tmp_path / "out"), "--json")
    assert info.returncode == 0
    data = json.loads(info.stdout)
    assert data["rows"] == 3 and data["rejected"]["by_reason"] == {"empty_text": 2}
    human = run_cltool("inspect", str(tmp_path / "out"))
    assert human.stdout == b"" and "3 kept + 2 rejected" in human.stderr.decode()


def test_two_processes_joined_by_a_pipe(tmp_path, pairs_rows):
    write_jsonl(tmp_path / "p.jsonl", pairs_rows)
    cmd = (f"{sys.executable} -m cltool ingest {tmp_path / 'p.jsonl'} -o - --rejected {tmp_path / 'rej'} "
           f"| {sys.executable} -m cltool ingest - -o {tmp_path / 'out'}")
    result = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert read_dataset(tmp_path / "out").num_rows == 3
    assert read_dataset(tmp_path / "rej").num_rows == 2
    piped = subprocess.run(["bash", "-o", "pipefail", "-c",
                            f"{sys.executable} -m cltool ingest {tmp_path / 'p.jsonl'} -o - -q "
                            f"| {sys.executable} -m cltool inspect - --json"], capture_output=True, timeout=120)
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout)["rows"] == 3
    assert b"--rejected DIR" in piped.stderr  # rejected rows with nowhere to go are not dropped silently


def bad_inputs(tmp):
    good = tmp / "good.parquet"
    pq.write_table(pa.table({"anchor": ["a"] * 50, "positive": ["p"] * 50}), good)
    (tmp / "truncated.parquet").write_bytes(good.read_bytes()[:-30])
    (tmp / "not_a_dataset").mkdir()
    (tmp / "unfinished").mkdir()
    pq.write_table(pa.table({"anchor": ["a"]}), tmp / "unfinished" / "part-00000.parquet")
    (tmp / "bad.jsonl").write_text('{"anchor": "a", "positive": "p"}\n{oops}\n')
    write_jsonl(tmp / "nocol.jsonl", [{"anchor": "a", "answer_text": "p"}])
    pq.write_table(pa.table({"anchor": [1, 2], "positive": ["p", "q"]}), tmp / "wrongtype.parquet")
    (tmp / "empty.jsonl").write_text("")
    return {
        "missing file": (["ingest", str(tmp / "missing.jsonl")], "does not exist"),
        "not a dataset": (["ingest", str(tmp / "not_a_dataset")], "is not a dataset"),
        "unfinished dataset": (["ingest", str(tmp / "unfinished")], "unfinished.manifest.json is missing"),
        "truncated parquet": (["ingest", str(tmp / "truncated.parquet")], "not a readable Parquet file"),
        "bad JSON line": (["ingest", str(tmp / "bad.jsonl")], "bad.jsonl, line 2: not valid JSON"),
        "missing column": (["ingest", str(tmp / "nocol.jsonl")], "columns found: anchor, answer_text"),
        "wrong type": (["ingest", str(tmp / "wrongtype.parquet")], "must be text, found int64"),
        "empty input": (["ingest", str(tmp / "empty.jsonl")], "is empty"),
        "bad option": (["ingest", str(good), "--format", "xml"], "--format must be one of"),
        "json and stdout": (["ingest", str(good), "--json", "-o", "-"], "both want stdout"),
    }


@pytest.mark.parametrize("case", [
    "missing file", "not a dataset", "unfinished dataset", "truncated parquet", "bad JSON line", "missing column",
    "wrong type", "empty input", "bad option", "json and stdout"])
def test_bad_input_gives_one_clear_error_exit_2_and_no_output(tmp_path, case):
    args, message = bad_inputs(tmp_path)[case]
    if "-o" not in args:
        args = [*args, "-o", str(tmp_path / "out")]
    result = run_cltool(*args)
    err = result.stderr.decode()
    assert result.returncode == 2, err
    assert err.startswith("error: ") and message in err
    assert "hint: " in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_inspect_errors_and_usage_errors(tmp_path):
    result = run_cltool("inspect", str(tmp_path / "nothing"))
    assert result.returncode == 2 and result.stderr.decode().startswith("error: ")
    result = run_cltool("ingest")
    assert result.returncode == 2 and "error: " in result.stderr.decode() and "Traceback" not in result.stderr.decode()
    result = run_cltool("frobnicate")
    assert result.returncode == 2


def test_traceback_only_with_cltool_debug(tmp_path):
    result = run_cltool("inspect", str(tmp_path / "nothing"), env={"CLTOOL_DEBUG": "1"})
    assert result.returncode == 2 and "Traceback" in result.stderr.decode()


STARTUP_PROBE = """
import sys
from cltool.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = [m for m in ("torch", "sentence_transformers", "faiss", "numba", "datasketch", "polars", "transformers")
         if m in sys.modules]
print("HEAVY", heavy, file=sys.stderr)
# help reads the strategies' registries (their names, options and help), never the data: no numpy, no pyarrow
print("ARRAYS", [m for m in ("numpy", "pyarrow") if m in sys.modules], file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["--help"], ["emit", "--help"], ["validate", "--help"], ["inspect", "DATASET"]])
def test_help_and_inspect_do_not_import_heavy_libraries(tmp_path, pairs_parquet, args):
    args = [str(tmp_path / "ds") if a == "DATASET" else a for a in args]
    assert run_cltool("ingest", str(pairs_parquet), "-o", str(tmp_path / "ds")).returncode == 0
    result = subprocess.run([sys.executable, "-c", STARTUP_PROBE, *args], capture_output=True, timeout=60)
    assert "HEAVY []" in result.stderr.decode(), result.stderr.decode()
    if "--help" in args:
        assert "ARRAYS []" in result.stderr.decode(), result.stderr.decode()


def test_sigterm_midway_leaves_no_output_and_no_debris(tmp_path):
    import os
    import signal
    import time

    write_jsonl(tmp_path / "big.jsonl", ({"anchor": f"question {i}", "positive": f"answer {i} " * 20}
                                         for i in range(200_000)))
    proc = subprocess.Popen([sys.executable, "-m", "cltool", "ingest", str(tmp_path / "big.jsonl"), "-o",
                             str(tmp_path / "out")], stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while not list(tmp_path.glob(".out.cltool-tmp-*")):  # the output is under construction
        assert proc.poll() is None and time.time() < deadline, "ingest ended before it could be interrupted"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=60) == 143
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_reader_that_goes_away_is_reported_not_hidden(tmp_path):
    write_jsonl(tmp_path / "p.jsonl", ({"anchor": f"q {i}", "positive": f"a {i} " * 30} for i in range(20_000)))
    result = subprocess.run(["bash", "-c", f"{sys.executable} -m cltool ingest {tmp_path / 'p.jsonl'} -o - -q "
                                           "| head -c 100 > /dev/null; echo ${PIPESTATUS[0]}"],
                            capture_output=True, timeout=120)
    assert result.stdout.decode().strip() == "3"
    err = result.stderr.decode()
    assert "error: the program reading cltool's output closed the pipe" in err and "Traceback" not in err
    assert "Exception ignored" not in err


def test_idle_thread_spinning_is_off_where_kernels_run_and_the_users_setting_wins():
    # must hold before numpy (OpenBLAS) and Numba's thread pool (OpenMP) load: each reads it once
    code = ("import os, cltool, numpy; a = os.environ.get('OMP_WAIT_POLICY', '-'); import cltool.kernels.setup; "
            "print(os.environ['OPENBLAS_THREAD_TIMEOUT'], a, os.environ['OMP_WAIT_POLICY'])")
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_THREAD_TIMEOUT", "OMP_WAIT_POLICY")}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["4", "-", "PASSIVE"]  # torch (embed) keeps OpenMP's default
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["4", "ACTIVE", "ACTIVE"]

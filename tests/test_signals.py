"""SIGTERM and SIGINT stop every writing command wherever they land (cltool/cli/signals.py): exit 143 /
130, no traceback, no "Exception ignored", and the output is the old one, whole, or none (a signal
that lands after the rename into place leaves the new one, whole); debris beside it only where the
watchdog had to exit hard, and the next run clears that.

The signal points are drawn from a seeded generator across the run's own duration, the first of
each command's very early (while the CLI and the library are imported, kernels loaded); one mine run
gets an empty NUMBA_CACHE_DIR, so that its signal lands while kernels compile. Two tests pin the two
places a signal cannot unwind from by itself: a ctypes callback and a long call in C."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cltool.errors import InputError
from tests.conftest import write_task_sources

ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}
ENV.pop("CLTOOL_DEBUG", None)
CODES = {signal.SIGTERM: 143, signal.SIGINT: 130}
HARD = ("did not stop within", "a second signal")  # the watchdog's exits: no unwinding


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cltool", *args, "-q"], env={**ENV, **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def catching(process: subprocess.Popen, timeout: float = 30) -> None:
    """Wait until the process has cltool's handlers (Linux: the SigCgt mask in /proc): before that, it
    is the interpreter starting, and a signal does what it does to any process. cltool installs its
    SIGTERM and SIGINT handlers together; the SIGTERM bit tells, because Python catches SIGINT itself
    from before `site` is imported (a SIGINT then is a KeyboardInterrupt in the interpreter's start)."""
    status = Path(f"/proc/{process.pid}/status")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        mask = next((line.split()[1] for line in status.read_text().splitlines() if line.startswith("SigCgt:")), "0")
        if int(mask, 16) & (1 << (signal.SIGTERM - 1)):
            return
        time.sleep(0.005)


def finish(*args: str) -> float:
    started = time.perf_counter()
    process = start(*args)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err.decode()
    return time.perf_counter() - started


def state(path: Path) -> object:
    """What a reader finds at `path`: None (nothing, or an unfinished dataset), a file's bytes, or
    a dataset's shards' bytes (opening it verifies them against its manifest)."""
    from cltool.dataset.read import open_dataset

    if path.is_file():
        return path.read_bytes()
    if not path.exists():
        return None
    try:
        open_dataset(str(path))
    except InputError:
        return None
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*.parquet"))}


def whole(path: Path) -> bool:
    """A file that is there is complete: emit's is listed with its sha256 in the manifest beside it,
    validate's XML parses, report's page ends."""
    if path.suffix == ".jsonl":
        import json

        from cltool.dataset.manifest import file_sha256

        manifest = json.loads(path.with_name(path.name[:-len(".jsonl")] + ".manifest.json").read_text())
        return any(f["path"] == str(path) and f["sha256"] == file_sha256(path) for f in manifest["outputs"])
    if path.suffix == ".xml":
        import xml.etree.ElementTree as ET

        ET.parse(path)
        return True
    return path.read_text().rstrip().endswith("</html>")


def stopped_at_random_points(old: tuple[str, ...], new: tuple[str, ...], outputs: list[Path], seed: int,
                             signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT),
                             envs: tuple[dict[str, str] | None, ...] = ()) -> None:
    duration = finish(*old)
    olds = [state(out) for out in outputs]
    rng = random.Random(seed)
    delivered = 0
    for i, signum in enumerate(signals):
        # the first while the CLI and the library are imported (from the moment the handler is there)
        delay = rng.uniform(0.0, 0.3) if i == 0 else rng.uniform(0.1, 0.9) * duration
        process = start(*new, env=envs[i] if i < len(envs) else None)
        catching(process)
        time.sleep(delay)
        if process.poll() is not None:  # done before the signal (a loaded machine): nothing to see
            continue
        process.send_signal(signum)
        delivered += 1
        _, err = process.communicate(timeout=60)
        err = err.decode()
        where = f"{new[0]} stopped by {signal.Signals(signum).name} after {delay:.2f}s"
        assert process.returncode == CODES[signum], f"{where}: exit {process.returncode}\n{err}"
        assert "Traceback" not in err and "Exception ignored" not in err, f"{where}:\n{err}"
        assert f"stopped by {signal.Signals(signum).name}" in err, f"{where}:\n{err}"
        for out, before in zip(outputs, olds):
            found = state(out)
            assert found is None or found == before or (out.is_file() and whole(out)) or (
                out.is_dir() and found), f"{where}: {out} is neither the old output, whole, nor none"
            debris = [p for p in out.parent.iterdir() if p.name.endswith(f".cltool-tmp-{process.pid}")]
            if any(h in err for h in HARD):  # no unwinding: the next run's clear_debris removes it
                from cltool.dataset.write import clear_debris

                clear_debris(out)
                debris = [p for p in out.parent.iterdir() if p.name.endswith(f".cltool-tmp-{process.pid}")]
            assert not debris, f"{where}: left {[p.name for p in debris]}"
    assert delivered, f"{new[0]} finished before every signal"


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> Path:
    root = write_task_sources(tmp_path_factory.mktemp("signals"))
    return root


def test_ingest_and_dedup_stopped(sources, tmp_path):
    out = tmp_path / "pairs"
    stopped_at_random_points(("ingest", str(sources / "small.jsonl"), "-o", str(out)),
                             ("ingest", str(sources / "large.jsonl"), "-o", str(out)), [out], seed=1)
    deduped = tmp_path / "deduped"
    stopped_at_random_points(("dedup", str(out), "--method", "exact", "--on", "anchor", "-o", str(deduped)),
                             ("dedup", str(out), "--method", "exact,minhash", "--on", "positive", "-o", str(deduped)),
                             [deduped], seed=2, signals=(signal.SIGTERM, signal.SIGTERM))


def test_embed_stopped(chain, tmp_path):
    out = tmp_path / "embedded"
    stopped_at_random_points(("embed", str(chain / "pairs"), "-o", str(out)),
                             ("embed", str(chain / "pairs"), "--batch-size", "8", "-o", str(out)), [out], seed=3)


def test_mine_stopped_while_kernels_load_and_compile(chain, tmp_path):
    out = tmp_path / "mined"
    stopped_at_random_points(("mine", str(chain / "embedded"), "-n", "2", "-o", str(out)),
                             ("mine", str(chain / "embedded"), "-n", "3", "-o", str(out)), [out], seed=4,
                             signals=(signal.SIGTERM, signal.SIGINT, signal.SIGTERM),
                             envs=(None, None, {"NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}))


def test_filter_and_emit_stopped(chain, tmp_path):
    out = tmp_path / "filtered"
    stopped_at_random_points(("filter", str(chain / "mined"), "--judge", "lexical", "-o", str(out)),
                             ("filter", str(chain / "mined"), "--judge", "lexical", "--lexical-threshold", "0.05",
                              "-o", str(out)), [out], seed=5)
    train = tmp_path / "emitted" / "train.jsonl"
    stopped_at_random_points(("emit", str(chain / "mined"), "-o", str(train)),
                             ("emit", str(chain / "mined"), "-n", "4", "-o", str(train)), [train], seed=6)


def test_validate_and_report_stopped(chain, tmp_path):
    junit, page = tmp_path / "validate.xml", tmp_path / "report.html"
    stopped_at_random_points(("validate", str(chain / "pairs"), "--junit", str(junit)),
                             ("validate", str(chain / "mined"), "--junit", str(junit)), [junit], seed=7,
                             signals=(signal.SIGTERM,))
    stopped_at_random_points(("report", str(chain / "pairs"), "-o", str(page)),
                             ("report", str(chain / "mined"), "-o", str(page)), [page], seed=8,
                             signals=(signal.SIGINT,))


def run_python(code: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=Path(__file__).parent.parent, **kwargs)


def test_a_signal_inside_a_ctypes_callback_is_raised_once_the_call_returns():
    """ctypes swallows a callback's exception ("Exception ignored on calling ctypes callback
    function"): the signal is delivered again and raised outside, silently."""
    process = run_python("""
        import ctypes, signal, time
        from cltool.cli import signals
        signals.install(); signals.start()
        calls = 0
        def compare(a, b):
            global calls
            calls += 1
            if calls == 5:
                signal.raise_signal(signal.SIGTERM)  # the handler runs here, inside the callback
            return 0
        callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)(compare)
        values = (ctypes.c_int * 5000)()
        try:
            ctypes.CDLL(None).qsort(values, 5000, 4, callback)
            time.sleep(5)
            print("ran on")
        except KeyboardInterrupt as exc:
            print("stopped", type(exc).__name__, signals.exit_code(), calls > 5)
    """)
    out, err = process.communicate(timeout=60)
    assert out.decode().split() == ["stopped", "Interrupted", "143", "True"] and err == b"", err.decode()


def test_a_long_call_in_c_is_ended_by_the_watchdog():
    """The main thread never returns to Python (here: a C sleep with SIGTERM blocked in that thread):
    the watchdog exits 143 a few seconds after the signal, saying so."""
    process = run_python("""
        import ctypes, signal
        from cltool.cli import signals
        signals.install(); signals.start()
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        print("in C", flush=True)
        ctypes.CDLL(None).sleep(60)
    """)
    assert process.stdout.readline() == b"in C\n"
    time.sleep(0.5)  # into the C call (a signal before it would be raised in Python: not this test)
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    from cltool.cli.signals import GRACE_S

    assert process.returncode == 143 and GRACE_S <= time.monotonic() - started < GRACE_S + 10, err.decode()
    assert "stopped by SIGTERM" in err.decode() and "did not stop within" in err.decode()
    assert "Traceback" not in err.decode()


def test_ray_init_does_not_take_sigterm_away():
    """ray.init sets its own SIGTERM handler (exit 15): while cltool's are installed it keeps them."""
    process = run_python("""
        import signal
        from cltool.cli import signals
        signals.install()
        signal.signal(signal.SIGTERM, lambda *a: None)
        print(signal.getsignal(signal.SIGTERM) is signals._handler)
        signals.uninstall()
        print(signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
    """)
    out, err = process.communicate(timeout=60)
    assert out.decode().split() == ["True", "True"], err.decode()

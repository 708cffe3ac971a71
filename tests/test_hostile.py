"""Hostile input, class by class (issue 16): each ends in its documented exit code with one `error:`
line and one `hint:` line, never a traceback or an "internal error", and nothing half-written.

  bad bytes and shapes  a CSV header naming a column twice, JSON nested 100,000 deep, Latin-1 JSONL,
                        an Arrow stream cut inside a message
  numbers               an option too large for C, a window past every candidate, -n beyond the data
  environment           CLTOOL_THREADS=0 / many, an output under a file (an OS error), a full disk
                        (a file-size limit), a reader that closes the pipe
  TOML files            rules and pipeline values of the wrong type, not a table, not UTF-8, a
                        pipeline cycle, two steps writing one output
  silent acceptance     shards of two models in one glob, a shard changed after its manifest
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import run_cltool, manifest_of

def refused(result: subprocess.CompletedProcess, code: int = 2, says: str = "") -> str:
    err = result.stderr.decode()
    assert result.returncode == code, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert sum(line.startswith("error: ") for line in lines) == 1 and sum(line.startswith("hint: ") for line in
                                                                             lines) == 1, err
    assert "Traceback" not in err and "internal error" not in err, err
    assert says in err, err
    return err


def test_bad_bytes_and_shapes_in_the_input(tmp_path, chain):
    (tmp_path / "dup.csv").write_text("a,a,positive\nx,y,z\n")
    refused(run_cltool("ingest", str(tmp_path / "dup.csv"), "-o", str(tmp_path / "o1")), says="more than once")
    (tmp_path / "deep.jsonl").write_text('{"anchor": ' + "[" * 100_000 + "]" * 100_000 + ', "positive": "x"}\n')
    refused(run_cltool("ingest", str(tmp_path / "deep.jsonl"), "-o", str(tmp_path / "o2")))
    (tmp_path / "latin1.jsonl").write_bytes('{"anchor": "caf\xe9", "positive": "x"}\n'.encode("latin-1"))
    refused(run_cltool("ingest", str(tmp_path / "latin1.jsonl"), "-o", str(tmp_path / "o3")))
    stream = run_cltool("ingest", str(chain / "pairs"), "-o", "-", "-q").stdout
    refused(run_cltool("inspect", "-", stdin=stream[:len(stream) // 2]), says="broke off")
    for out in ("o1", "o2", "o3"):
        assert not (tmp_path / out).exists()


def test_numbers_out_of_any_range(tmp_path, chain):
    huge = run_cltool("mine", str(chain / "embedded"), "-n", "99999999999999999999", "-o", str(tmp_path / "m1"))
    assert huge.returncode == 0 and b"more negatives than there are candidates" in huge.stderr  # beyond C's int
    # a window past every candidate: the top ranks skipped are as many as the data can spare, with a warning
    deep = run_cltool("mine", str(chain / "embedded"), "--range-min", "100000000", "-o", str(tmp_path / "m2"))
    assert deep.returncode == 0 and b"leaves fewer than -n 3" in deep.stderr, deep.stderr
    deep_manifest = manifest_of(tmp_path / "m2")
    assert deep_manifest["summary"]["range_min_asked"] == 100_000_000 and deep_manifest["params"]["range_min"] == 57
    refused(run_cltool("emit", str(chain / "mined"), "-n", "1000000", "-o", str(tmp_path / "e.jsonl")),
            says="other texts")
    refused(run_cltool("filter", str(chain / "mined"), "--vote", "0", "-o", str(tmp_path / "f")), says="at least 1")
    refused(run_cltool("dedup", str(chain / "pairs"), "--num-perm", "100000000", "-o", str(tmp_path / "d")),
            says="between 1 and 1024")
    refused(run_cltool("embed", str(chain / "pairs"), "--batch-size", "100000000", "-o", str(tmp_path / "b")),
            says="at most 8,192")
    refused(run_cltool("embed", str(chain / "pairs"), "--max-seq-length", "100000000", "-o", str(tmp_path / "s")),
            says="longer than")
    lowered = run_cltool("embed", str(chain / "pairs"), "--batch-size", "5000", "-o", str(tmp_path / "l"))
    assert lowered.returncode == 0 and b"lowered to 256" in lowered.stderr  # on the CPU it would only pad more
    # more negatives than candidates: clamped to what the data can give, with a warning
    big = run_cltool("mine", str(chain / "embedded"), "-n", "1000000", "-o", str(tmp_path / "m3"))
    assert big.returncode == 0 and b"more negatives than there are candidates" in big.stderr
    summary = manifest_of(tmp_path / "m3")
    assert summary["params"]["num_negatives"] == 60 and summary["summary"]["num_negatives_asked"] == 1_000_000
    assert not any((tmp_path / name).exists() for name in ("e.jsonl", "f", "d", "b", "s"))


def test_the_environment_fails(tmp_path, chain):
    for threads in ("0", "many"):
        refused(run_cltool("embed", str(chain / "pairs"), "-o", str(tmp_path / "x"), env={"CLTOOL_THREADS": threads}),
                says="CLTOOL_THREADS")
    (tmp_path / "file").write_text("not a folder")
    refused(run_cltool("ingest", str(chain / "pairs"), "-o", str(tmp_path / "file" / "out")))
    # a full disk (a file-size limit: Python ignores SIGXFSZ, so the write fails with EFBIG): exit 3, named
    limit = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))  # noqa: E731
    full = subprocess.run([sys.executable, "-m", "cltool", "ingest", str(chain / "embedded"), "-o",
                           str(tmp_path / "full")], capture_output=True, preexec_fn=limit,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=120)
    refused(full, code=3, says="disk full or file too large")
    assert not (tmp_path / "full").exists() and not list(tmp_path.glob(".full*"))
    # the reader of emit's stdout goes away
    emit = subprocess.Popen([sys.executable, "-m", "cltool", "emit", str(chain / "mined"), "-o", "-"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    emit.stdout.close()  # before the first byte
    err = emit.stderr.read()
    emit.wait(timeout=120)
    refused(subprocess.CompletedProcess(emit.args, emit.returncode, b"", err), code=3, says="closed the pipe")


@pytest.mark.parametrize("text, says", [
    ("[limits]\nembedding_dim = {a = 1}\n", "limits.embedding_dim must be a number"),
    ("limits = 3\n", "limits must be a table"),
    ("checks = [1, 2]\n", "checks[0] must be a string"),
    ("[limits]\nmax_empty_text = true\n", "must be a number"),
])
def test_rules_files_of_the_wrong_shape(tmp_path, chain, text, says):
    (tmp_path / "rules.toml").write_text(text)
    refused(run_cltool("validate", str(chain / "mined"), "--rules", str(tmp_path / "rules.toml")), says=says)


def test_a_rules_file_that_is_not_utf8(tmp_path, chain):
    (tmp_path / "rules.toml").write_bytes(b"\xff\xfe[limits]\n")
    refused(run_cltool("validate", str(chain / "mined"), "--rules", str(tmp_path / "rules.toml")), says="not UTF-8")


@pytest.mark.parametrize("text, says", [
    ("step = 3\n", "step must be an array"),
    ('[[step]]\ncommand = "ingest"\ninput = 3\noutput = "x"\n', "input must be an array"),
    ('[[step]]\ncommand = "ingest"\ninput = "a"\noutput = "x"\noptions = 3\n', "options must be a table"),
    ('[[step]]\ncommand = "ingest"\ninput = "a"\noutput = "x"\n[step.options]\ncolumn = {a = 1}\n', "options.column"),
    ('[[step]]\nname = "a"\ncommand = "ingest"\ninput = "b"\noutput = "a"\n'
     '[[step]]\nname = "b"\ncommand = "embed"\ninput = "a"\noutput = "b"\n', "writes after it"),
    ('[[step]]\ncommand = "ingest"\ninput = "x"\noutput = "x"\n', "it writes itself"),
    ('[[step]]\nname = "a"\ncommand = "ingest"\ninput = "i"\noutput = "o"\n'
     '[[step]]\nname = "b"\ncommand = "ingest"\ninput = "j"\noutput = "o"\n', "writes o, which step 'a' writes too"),
])
def test_pipeline_files_of_the_wrong_shape(tmp_path, text, says):
    (tmp_path / "pipeline.toml").write_text(text)
    refused(run_cltool("run", str(tmp_path / "pipeline.toml"), "--dry-run"), says=says)


def test_shards_of_two_models_and_a_changed_shard_are_refused(tmp_path, chain):
    shard = next((chain / "embedded").glob("*.parquet"))
    table = pq.read_table(shard)
    pq.write_table(table, tmp_path / "a.parquet")
    field = table.schema.field("anchor_embedding")
    info = json.loads(field.metadata[b"cltool:embedding"])
    other = field.with_metadata({b"cltool:embedding": json.dumps({**info, "model_fingerprint": "0" * 64}).encode()})
    pq.write_table(table.cast(table.schema.set(table.schema.get_field_index("anchor_embedding"), other)),
                   tmp_path / "b.parquet")
    refused(run_cltool("mine", str(tmp_path / "*.parquet"), "-o", str(tmp_path / "m")), says="model_fingerprint")
    changed = tmp_path / "changed"
    shutil.copytree(chain / "mined", changed)
    shutil.copy(chain / "mined.manifest.json", tmp_path / "changed.manifest.json")  # a dataset's manifest lies beside it
    part = next(changed.glob("*.parquet"))
    pq.write_table(pq.read_table(part).slice(1), part)  # a row fewer, same schema
    for command in (("inspect", str(changed)), ("emit", str(changed), "-o", str(tmp_path / "e.jsonl"))):
        refused(run_cltool(*command), says="was changed after cltool wrote")
    assert run_cltool("validate", str(changed)).returncode == 1  # validate reports it as a failed check


@pytest.mark.parametrize("error, code, says", [
    (OSError(28, "No space left on device", "out/part-00000.parquet"), 3, "disk full"),
    (OSError("IOError: File too large"), 3, "disk full"),
    (PermissionError(13, "Permission denied", "/root/x"), 2, "permission denied"),
    (OverflowError("Python int too large to convert to C long"), 2, "too large"),
    (RecursionError("maximum recursion depth exceeded"), 2, "nests too deeply"),
    (BrokenPipeError(32, "Broken pipe"), 3, "closed the pipe"),
    (OSError("Broken pipe (os error 32)"), 3, "closed the pipe"),
    (NotADirectoryError(20, "Not a directory", "a/b"), 2, "Not a directory"),
])
def test_each_class_of_environment_error_has_one_place_and_one_code(error, code, says):
    from cltool.errors import from_environment

    known = from_environment(error)
    assert known.exit_code == code and says in known.message and known.hint


def test_a_bug_stays_an_internal_error():
    from cltool.errors import from_environment

    assert from_environment(KeyError("x")) is None and from_environment(TypeError("x")) is None


def test_an_output_it_may_not_replace_is_refused_before_the_work(tmp_path, chain):
    own = tmp_path / "own"
    own.mkdir()
    (own / "notes.txt").write_text("the user's own")
    for command in (("mine", str(chain / "embedded"), "-o", str(own)),
                    ("mine", str(chain / "embedded"), "--save-candidates", str(own), "-o", str(tmp_path / "m")),
                    ("dedup", str(chain / "pairs"), "-o", str(own)),
                    ("filter", str(chain / "mined"), "--rejected", str(own), "-o", str(tmp_path / "f"))):
        err = refused(run_cltool(*command), says="refusing to replace")
        assert "mine:" not in err and "dedup:" not in err  # said before the step ran
    assert (own / "notes.txt").read_text() == "the user's own" and not (tmp_path / "m").exists()


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_any_bytes_ingest_or_fail_as_input_errors(tmp_path_factory, suffix, fails_cleanly):
    """Property: whatever bytes a JSONL or CSV file holds, ingest writes a dataset or names the problem."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from cltool.ingest import ingest

    lines = st.one_of(st.binary(max_size=80), st.just(b'{"anchor": "a", "positive": "b"}'),
                      st.just(b"anchor,positive"), st.just(b'{"anchor": ["x"], "positive": {"y": 1}}'),
                      st.just(b'{"anchor": null, "positive": 3}'), st.just(b'"\xff\xfe'))

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(lines, max_size=6))
    def check(content):
        root = tmp_path_factory.mktemp("bytes")
        (root / f"in{suffix}").write_bytes(b"\n".join(content))
        fails_cleanly(lambda: ingest(str(root / f"in{suffix}"), str(root / "out")))

    check()

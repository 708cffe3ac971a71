"""The command line a manifest records reads back as the same arguments."""

import shlex

from tests.conftest import manifest_of, run_cltool, write_jsonl


def test_inspect_shows_the_recorded_command_quoted_as_a_shell_reads_it(tmp_path):
    write_jsonl(tmp_path / "pairs.jsonl", [{"anchor": "a question", "positive": "an answer"}])
    out = tmp_path / "data with spaces"
    done = run_cltool("ingest", str(tmp_path / "pairs.jsonl"), "-o", str(out))
    assert done.returncode == 0, done.stderr.decode()
    argv = manifest_of(out)["argv"]
    assert argv[-1] == str(out)  # the manifest keeps each argument whole
    shown = run_cltool("inspect", str(out))
    line = next(ln for ln in shown.stderr.decode().splitlines() if ln.startswith("command: "))
    assert shlex.split(line.removeprefix("command: ")) == argv

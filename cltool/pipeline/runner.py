"""`cltool run pipeline.toml`: the chain declared once and run in order, each step a real `cltool`
process.

    [[step]]
    name = "embedded"              # how later steps refer to its output
    command = "embed"
    input = "pairs"                # a step's name, or a path (relative to the file)
    output = "out/embedded"
    options = { columns = "anchor,positive", batch-size = 64 }

Options become flags: `key = value` -> `--key value`, `true` -> `--key`, a list -> the flag once per
item; `args = [...]` is appended as it is. A step is skipped when its output is up to date: the
output's manifest was written by the same command line, and every input file it recorded still has
the same sha256 (so when an upstream step re-runs and writes the same bytes, nothing below it
re-runs). Steps without a manifest of their own (validate, report) always run.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cltool.config import expect, expect_list, read_toml
from cltool.dataset.manifest import file_sha256, read_manifest
from cltool.errors import DataCheckError, UsageError

COMMANDS = ("ingest", "embed", "dedup", "mine", "filter", "emit", "validate", "report", "inspect")
# where a step's output manifest lives: in the output directory, or beside an emitted file
_SIDECAR = ("emit",)


@dataclass
class Step:
    name: str
    command: str
    inputs: list[str]
    output: str | None
    options: dict[str, Any] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    base: Path = Path(".")  # the pipeline file's folder: the step runs there, so relative paths hold

    def argv(self) -> list[str]:
        out = [self.command, *self.inputs]
        for key, value in self.options.items():
            flag = "--" + key.replace("_", "-")
            for item in value if isinstance(value, list) else [value]:
                if item is True:
                    out.append(flag)
                elif item is False or item is None:
                    continue
                else:
                    out += [flag, str(item)]
        if self.output is not None:
            out += ["-o", self.output]
        return out + [str(a) for a in self.args]


_VALUE = (str, int, float, bool)


def load(path: str) -> list[Step]:
    """The steps of a pipeline file, checked: each key's type, commands, names, and that no step
    reads what it or a later step writes (a cycle) and no two steps write one output."""
    data = read_toml(path, "pipeline file")
    base = Path(path).resolve().parent
    steps: list[Step] = []
    outputs: dict[str, str] = {}
    for number, raw in enumerate(expect_list(data.get("step", []), (dict,), f"{path}: step"), start=1):
        name = expect(raw.get("name") or f"step{number}", (str,), f"{path}: step {number}: name")
        where = f"{path}: step {name!r}"
        command = raw.get("command")
        if command not in COMMANDS:
            raise UsageError(f"{where} has command {command!r}; commands: {', '.join(COMMANDS)}")
        unknown = set(raw) - {"name", "command", "input", "inputs", "output", "options", "args"}
        if unknown:
            raise UsageError(f"{where} has unknown keys {', '.join(sorted(unknown))}",
                             hint="a step has name, command, input(s), output, options and args")
        given = raw.get("inputs", raw.get("input", []))
        given = [given] if isinstance(given, str) else expect_list(given, (str,), f"{where}: input")
        inputs = [outputs.get(i, i) for i in given]
        output = raw.get("output")
        if output is not None:
            expect(output, (str,), f"{where}: output")
            writer = next((other for other, written in outputs.items() if written == output), None)
            if writer is not None and output != "-":
                raise UsageError(f"{where} writes {output}, which step {writer!r} writes too",
                                 hint="give each step its own output")
            outputs[name] = output
        options = {}
        for key, value in expect(raw.get("options", {}), (dict,), f"{where}: options").items():
            if isinstance(value, list):
                expect_list(value, _VALUE, f"{where}: options.{key}")
            else:
                expect(value, _VALUE, f"{where}: options.{key}")
            options[key] = outputs.get(value, value) if isinstance(value, str) and value in outputs else value
        args = expect_list(raw.get("args", []), _VALUE, f"{where}: args")
        steps.append(Step(name, command, inputs, output, options, [str(a) for a in args], base))
    if not steps:
        raise UsageError(f"{path} declares no [[step]]")
    if len({s.name for s in steps}) != len(steps):
        raise UsageError(f"{path}: step names must be unique")
    for position, step in enumerate(steps):  # a step reading its own output, or a later step's, is a cycle
        for later in steps[position:]:
            if later.output not in (None, "-") and later.output in step.inputs:
                raise UsageError(f"{path}: step {step.name!r} reads {later.output}, which "
                                 + ("it writes itself" if later is step else f"step {later.name!r} writes after it"),
                                 hint="order the steps so each reads what an earlier step wrote")
    return steps


def _manifest_of(step: Step) -> dict[str, Any] | None:
    if step.output is None or step.output == "-":
        return None
    if step.command in _SIDECAR:
        import json

        from cltool.emit import sidecar

        path = step.base / sidecar(step.output, "manifest.json")
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    directory = step.base / step.output
    return read_manifest(directory)


def up_to_date(step: Step) -> tuple[bool, str]:
    """Whether the step's output already is what running it would write, and why (not)."""
    manifest = _manifest_of(step)
    if manifest is None:
        return False, "no output yet" if step.command not in ("validate", "report", "inspect") else "always runs"
    if (manifest.get("argv") or [])[1:] != step.argv():
        return False, "the command line changed"
    for source in manifest.get("inputs", []):
        for f in source.get("files", []):
            path = step.base / f["path"]  # recorded as given, relative to where the step ran
            if not path.is_file() or file_sha256(path) != f.get("sha256"):
                return False, f"input {path} changed"
    return True, "up to date"


def run(path: str, *, start: str | None = None, dry_run: bool = False, quiet: bool = False,
        echo=print) -> dict[str, Any]:
    """Run the pipeline; returns what each step did. A failing step stops the run with its exit code."""
    steps = load(path)
    names = [s.name for s in steps]
    if start is not None and start not in names:
        raise UsageError(f"--from {start!r}: no such step; steps: {', '.join(names)}")
    forced = set(names[names.index(start):]) if start else set()
    done: list[dict[str, Any]] = []
    for step in steps:
        fresh, why = (False, "--from") if step.name in forced else up_to_date(step)  # no hashing when forced
        line = "cltool " + shlex.join(step.argv())
        if fresh:
            echo(f"[{step.name}] skip ({why}): {line}")
            done.append({"step": step.name, "action": "skip", "why": why})
            continue
        echo(f"[{step.name}] {'would run' if dry_run else 'run'} ({why}): {line}")
        if dry_run:
            done.append({"step": step.name, "action": "would run", "why": why, "argv": step.argv()})
            continue
        env = {**os.environ, "CLTOOL_QUIET": "1"} if quiet else None
        result = subprocess.run([sys.executable, "-m", "cltool", *step.argv()], cwd=step.base, env=env)
        done.append({"step": step.name, "action": "run", "why": why, "exit": result.returncode})
        if result.returncode != 0:
            error = DataCheckError if result.returncode == 1 else UsageError
            exc = error(f"step {step.name!r} ({step.command}) failed with exit {result.returncode}",
                        hint=f"fix it and re-run; finished steps are skipped: cltool run {path}")
            exc.exit_code = result.returncode
            raise exc
    return {"pipeline": path, "steps": done}

"""Extract docstring -> code pairs from the Python standard library's own source.

This is how examples/data/stdlib-docstrings.jsonl.gz was made (with CPython 3.11.7):

    python examples/scripts/extract_stdlib_pairs.py examples/data/stdlib-docstrings.jsonl.gz

Each pair is the first paragraph of a function's docstring (the "query") and the function's source
without its docstring (the "code"). The standard library is under the PSF License; the pairs hold
real near-duplicates (e.g. `_pyio` and `_pydecimal` mirror other modules, many `__repr__`s look alike).
"""

from __future__ import annotations

import ast
import gzip
import json
import re
import sys
import sysconfig
from pathlib import Path

SKIP_DIRS = {"test", "tests", "idlelib", "lib2to3", "tkinter", "turtledemo", "site-packages", "ensurepip",
             "__pycache__", "pydoc_data", "distutils", "msilib"}
MIN_QUERY_CHARS, MAX_CODE_CHARS, MAX_PAIRS = 24, 2_500, 4_000


def summary(docstring: str) -> str:
    first = docstring.strip().split("\n\n")[0]
    return re.sub(r"\s+", " ", first).strip()


def code_without_docstring(source: str, node: ast.AST) -> str | None:
    segment = ast.get_source_segment(source, node, padded=True)
    if segment is None:
        return None
    doc = node.body[0]
    lines = source.splitlines(keepends=True)
    start, end = node.lineno, node.end_lineno
    keep = [line for n, line in enumerate(lines[start - 1:end], start=start) if not doc.lineno <= n <= doc.end_lineno]
    code = "".join(keep).rstrip()
    # dedent methods to the function's own level
    indent = len(keep[0]) - len(keep[0].lstrip()) if keep else 0
    code = "\n".join(line[indent:] if line[:indent].strip() == "" else line for line in code.splitlines())
    return code if len(code.splitlines()) > 1 else None


def pairs(stdlib: Path):
    for path in sorted(stdlib.rglob("*.py")):
        rel = path.relative_to(stdlib)
        if SKIP_DIRS & set(rel.parts[:-1]) or rel.name.startswith("test_"):
            continue
        source = path.read_text(encoding="utf-8", errors="replace")
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        module = ".".join(rel.with_suffix("").parts).removesuffix(".__init__")
        stack = [(tree, module)]
        while stack:
            parent, prefix = stack.pop(0)
            for node in ast.iter_child_nodes(parent):
                if isinstance(node, ast.ClassDef):
                    stack.append((node, f"{prefix}.{node.name}"))
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    docstring = ast.get_docstring(node)
                    if not docstring:
                        continue
                    query = summary(docstring)
                    code = code_without_docstring(source, node)
                    if len(query) < MIN_QUERY_CHARS or code is None or len(code) > MAX_CODE_CHARS:
                        continue
                    yield {"qualname": f"{prefix}.{node.name}", "module": module, "query": query, "code": code}


def main(out: str) -> None:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    rows = list(pairs(stdlib))
    step = max(1, len(rows) // MAX_PAIRS + (len(rows) % MAX_PAIRS > 0))
    rows = rows[::step][:MAX_PAIRS]
    with open(out, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
        for row in rows:
            f.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
    print(f"{len(rows)} pairs from {stdlib} (Python {sys.version.split()[0]}) -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1])

"""The kernels' set-up (OpenMP's wait policy, the CPU target) runs before Numba is imported: every
module that imports Numba imports `cltool.kernels.setup` first, and the package itself runs nothing."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import cltool

ROOT = Path(cltool.__file__).parent
SETUP = "cltool.kernels.setup"


def _imports(tree: ast.Module) -> list[str]:
    """The modules a module imports, in order (`from a import b` as a.b and a), at any depth."""
    found = []
    for node in _in_order(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found += [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
    return found


def _in_order(node: ast.AST):
    for child in ast.iter_child_nodes(node):
        yield child
        yield from _in_order(child)


def test_every_module_that_imports_numba_sets_the_kernels_up_first():
    checked = []
    for path in sorted(ROOT.rglob("*.py")):
        imports = _imports(ast.parse(path.read_text()))
        numba = next((i for i, name in enumerate(imports) if name.split(".")[0] == "numba"), None)
        if numba is None or path == ROOT / "kernels" / "setup.py":
            continue
        checked.append(path.relative_to(ROOT).as_posix())
        assert SETUP in imports[:numba], f"{path} imports Numba before {SETUP}"
    assert "kernels/topk.py" in checked and "engine.py" in checked


def test_importing_the_package_runs_nothing_and_a_kernel_module_sets_up():
    code = ("import os, sys; import cltool.kernels; print('numba' in sys.modules, 'OMP_WAIT_POLICY' in os.environ); "
            "import cltool.kernels.select; print('numba' in sys.modules, os.environ['OMP_WAIT_POLICY'])")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT.parent), env.get("PYTHONPATH")) if p)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                         check=True).stdout.split()
    assert out == ["False", "False", "True", "PASSIVE"]

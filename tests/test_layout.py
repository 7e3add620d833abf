"""The code's shape, as issue 14 fixed it: no import cycles in forecast/ or api/ (imports
inside functions included), modules of about 400 lines at most, and functions over 60
lines saying beside them why they are long."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted([*ROOT.glob("forecast/**/*.py"), *ROOT.glob("api/**/*.py")])
MAX_MODULE_LINES = 420
MAX_FUNCTION_LINES = 60


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in FILES}


def _imports(path: Path) -> set[str]:
    """Modules of ours this one imports anywhere, except under ``if TYPE_CHECKING``."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return {m for m in found if m in MODULES and m != _name(path)}


def test_no_import_cycles():
    graph = {name: _imports(path) for name, path in MODULES.items()}
    state: dict[str, int] = {}
    cycles = []

    def walk(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                walk(nxt, stack)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name, [])
    assert not cycles, " ; ".join(" -> ".join(c) for c in cycles)


def test_modules_and_functions_stay_small_or_say_why():
    too_long, unexplained = [], []
    for path in FILES:
        text = path.read_text()
        lines = text.splitlines()
        if len(lines) > MAX_MODULE_LINES:
            too_long.append(f"{path.relative_to(ROOT)}: {len(lines)} lines")
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if (node.end_lineno or node.lineno) - node.lineno + 1 <= MAX_FUNCTION_LINES:
                continue
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            if "Long on purpose" not in lines[first - 2]:
                unexplained.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not too_long, too_long
    assert not unexplained, unexplained


def test_make_lab_installs_jupyterlab_and_opens_the_notebooks():
    import shutil
    import subprocess

    make = shutil.which("make")
    if make is None:  # CI runs through make; a bare checkout without it has nothing to check
        return
    plan = subprocess.run([make, "-n", "lab"], cwd=ROOT, capture_output=True, text=True)
    assert plan.returncode == 0, plan.stderr
    assert ".[notebooks]" in plan.stdout and "jupyter lab notebooks/" in plan.stdout


def test_the_cli_starts_without_the_plotting_and_forecasting_libraries():
    """Every ``costcast`` command imports the package: its public names load when first
    used, so a ``kpis`` or ``watch`` from cron does not wait for matplotlib, Prophet or
    statsforecast (the package's eager imports were a second of each command's start)."""
    import subprocess
    import sys

    heavy = ("matplotlib", "prophet", "statsforecast", "sklearn")
    code = ("import sys, forecast, forecast.cli; "
            f"print(sorted(m for m in {heavy!r} if m in sys.modules)); "
            "print(forecast.fan_chart.__module__, 'matplotlib' in sys.modules, "
            "'Workspace' in dir(forecast))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=ROOT)  # fmt: skip
    assert done.stdout.splitlines() == ["[]", "forecast.plots True True"]

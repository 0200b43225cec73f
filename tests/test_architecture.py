"""The layer order of docs/ARCHITECTURE.md holds, with no hidden circles.

Three checks a reviewer would otherwise do by hand:

* every import in `forum/` (top of file, inside functions, under `if TYPE_CHECKING:`) makes
  a graph without a circle, apart from the two entry points that may import anything
  (`forum/__init__.py`, the app factory, and `forum/cli.py`);
* an import inside a function says why (`# noqa: PLC0415 - <which circle or start-up
  cost it avoids>`); ruff refuses one without the noqa, this refuses a noqa without a reason;
* `lint-imports` keeps the contracts in pyproject.toml (the layers, the independent areas).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "forum"
#: May import anything, when it is needed: the app factory and the CLI it registers.
ENTRY_POINTS = {"forum", "forum.cli"}
#: The noqa comment for PLC0415 followed by a reason of at least two words.
REASON_RE = re.compile(r"#\s*noqa:\s*PLC0415\b[\s:;,.\-—–]*(\w+\W+\w+)")


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _known(name: str) -> str | None:
    """The module of ours that `name` (a module, or a name inside one) loads."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(tree: ast.AST) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement, and whether it sits inside a function."""

    def walk(node: ast.AST, in_function: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, in_function
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            yield from walk(child, inner)

    yield from walk(tree, False)


def _targets(node: ast.Import | ast.ImportFrom, module: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:  # relative: from the module's package, `level - 1` packages up
        package = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
        package = package[: len(package) - node.level + 1]
        base = ".".join([*package, *([base] if base else [])])
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def import_graph() -> dict[str, set[str]]:
    """module -> the modules of ours it imports, counting every import statement (the entry
    points' own imports left out; an import *of* an entry point is kept, and refused below)."""
    graph: dict[str, set[str]] = {name: set() for name in MODULES if name not in ENTRY_POINTS}
    for module in graph:
        for node, _ in _imports(ast.parse(MODULES[module].read_text(encoding="utf-8"))):
            for target in _targets(node, module):
                known = _known(target) if target.startswith("forum") else None
                if known is not None and known != module:
                    graph[module].add(known)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle in `graph` (as a path that returns to its start), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def test_no_import_circle_counting_every_import() -> None:
    graph = import_graph()
    assert sum(len(targets) for targets in graph.values()) > 300  # the graph really was read
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_nothing_imports_the_app_factory_or_the_cli() -> None:
    """They import every area: an area importing them back is a circle through the top."""
    graph = import_graph()
    assert {m: sorted(t & ENTRY_POINTS) for m, t in graph.items() if t & ENTRY_POINTS} == {}


def test_the_cycle_finder_finds_a_circle_through_a_function_level_import() -> None:
    source = "import forum.a\n\ndef f():\n    from forum.c import x\n"
    tree = ast.parse(source)
    inside = [in_function for _, in_function in _imports(tree)]
    assert inside == [False, True]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_every_function_level_import_says_why() -> None:
    unexplained = []
    counted = 0
    for module, path in MODULES.items():
        if module in ENTRY_POINTS:
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        for node, in_function in _imports(ast.parse("\n".join(lines))):
            if not in_function:
                continue
            counted += 1
            statement = " ".join(lines[node.lineno - 1 : (node.end_lineno or node.lineno)])
            if not REASON_RE.search(statement):
                unexplained.append(f"{path.relative_to(ROOT)}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    assert unexplained == [], f"{len(unexplained)} of {counted} imports in functions give no reason"


def test_lint_imports_keeps_the_layer_contracts() -> None:
    config = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "ignore_imports" not in config  # no exception hides a wrong-way import
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--no-logo", "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout and "Layers: a lower layer never imports a higher one KEPT" in done.stdout

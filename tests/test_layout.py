"""House rules: small modules, rooms that show the architecture, no import circles.

A reader who knows the Raft paper and sofa-jraft should find each part by its folder
(see README, "How it is built"); these tests keep that true as the code grows.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("raft", "sim")
MAX_LINES = 600
MAX_LOOSE_SIM_MODULES = 8


def _modules() -> dict[str, Path]:
    """Every project module by dotted name (packages by their own name)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _top_level_imports(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """Project modules imported at module level, `if TYPE_CHECKING:` blocks included.

    Imports inside functions are left out: they run late, on purpose (a front end
    loaded only when asked for). Type-only imports count, because a type that names
    a module above it is the same dependency as a runtime import.
    """
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    imported: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                for alias in node.names:
                    # `from sim.engine import trace` depends on the module sim.engine.trace,
                    # `from sim.engine.trace import Trace` on sim.engine.trace itself.
                    submodule = f"{base}.{alias.name}"
                    imported.add(submodule if submodule in modules else base)
            elif isinstance(node, ast.If | ast.Try):
                visit(node.body)
                visit(node.orelse)
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)

    visit(tree.body)
    return {m for m in imported if m in modules and m != name}


def _import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _top_level_imports(path, name, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def test_no_module_level_import_circle():
    assert _cycles(_import_graph()) == []


def test_the_cycle_finder_sees_a_circle():
    # The test above can fail: a two-module circle is found.
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def test_raft_never_imports_the_simulator():
    leaks = {
        name: sorted(d for d in deps if d.startswith("sim"))
        for name, deps in _import_graph().items()
        if name.startswith("raft")
    }
    assert {name: deps for name, deps in leaks.items() if deps} == {}


def test_the_engine_knows_nothing_of_checking_showing_or_scenarios():
    upward = ("sim.check", "sim.show", "sim.scenario", "sim.cluster", "sim.views", "sim.cli")
    leaks = {
        name: sorted(d for d in deps if d.startswith(upward))
        for name, deps in _import_graph().items()
        if name.startswith("sim.engine")
    }
    assert {name: deps for name, deps in leaks.items() if deps} == {}


def test_no_module_is_too_long_to_hold_in_mind():
    long = {
        name: n
        for name, path in _modules().items()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_sim_keeps_few_loose_modules():
    loose = sorted(p.name for p in (ROOT / "sim").glob("*.py"))
    assert len(loose) <= MAX_LOOSE_SIM_MODULES, loose

"""The modules of core/ import one another one way only: no cycle, and each imports on its own."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parent.parent / "core"


def module_name(path: Path) -> str:
    parts = path.relative_to(CORE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = sorted(module_name(path) for path in CORE.rglob("*.py"))


def core_imports(path: Path) -> set[str]:
    """The modules of core/ that a file imports, anywhere in the file (TYPE_CHECKING blocks too),
    relative imports (`from .errors import ...`) resolved."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module) if part)
            if module.split(".")[0] != "core":
                continue
            for alias in node.names:  # `from core import layers` imports the module core.layers
                submodule = f"{module}.{alias.name}"
                found.add(submodule if submodule in MODULES else module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "core")
    return found - {module_name(path)}


def import_graph() -> dict[str, set[str]]:
    return {module_name(path): core_imports(path) for path in sorted(CORE.rglob("*.py"))}


def cycle_in(graph: dict[str, set[str]]) -> list[str] | None:
    """A list of modules that import each other in a ring, or None."""
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return path[path.index(module):] + [module]
        if module in done:
            return None
        for imported in sorted(graph.get(module, ())):
            ring = visit(imported, path + [module])
            if ring:
                return ring
        done.add(module)
        return None

    for module in sorted(graph):
        ring = visit(module, [])
        if ring:
            return ring
    return None


def test_the_import_graph_of_core_has_no_cycle():
    graph = import_graph()
    assert graph["core.network"] >= {"core.layers", "core.gradient"}  # the parser sees both forms ...
    assert graph["core.datasets.mnist"] >= {"core.datasets.download", "core.datasets.errors"}  # ... and relative ones
    assert "core.network" in graph["core.numerical"] and "core.numerical" not in graph["core.network"]
    assert cycle_in(graph) is None, " -> ".join(cycle_in(graph))


def test_a_ring_is_found():
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle_in({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("module", MODULES)
def test_each_module_imports_first_in_a_fresh_process(module):
    subprocess.run([sys.executable, "-c", f"import {module}"], cwd=CORE.parent, check=True, timeout=60)

"""keystone_py keeps its shape: the module graph, read from the source with ``ast``
(function-local imports included, ``if TYPE_CHECKING:`` blocks left out), is
acyclic and layered, and an import hidden in a function is there only to keep
a third-party module out of start-up."""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Set

import pytest

import keystone_py

PKG_DIR = Path(keystone_py.__file__).resolve().parent
ROOT = "keystone_py"

needs_stdlib_names = pytest.mark.skipif(sys.version_info < (3, 10),
                                        reason="sys.stdlib_module_names is 3.10+")

#: Layers, bottom up: a module may import its own subpackage and lower layers only.
LAYERS = [
    {"keystone_py", "keystone_py.errors"},
    {"keystone_py.paths", "keystone_py.contract", "keystone_py.tap", "keystone_py.abi"},
    {"keystone_py.toolchain"},
    {"keystone_py.build"},
    {"keystone_py.qemu", "keystone_py.attest"},
    {"keystone_py.gdb", "keystone_py.remote"},
    {"keystone_py.cli", "keystone_py.pytest_plugin"},
    {"keystone_py.__main__"},
]


@dataclass(frozen=True)
class Import:
    importer: str
    target: str  # a keystone_py module, or a top-level third-party/stdlib name
    lazy: bool  # inside a function
    line: int

    def __str__(self) -> str:
        lazy = " (in a function)" if self.lazy else ""
        return f"{self.importer}:{self.line} -> {self.target}{lazy}"


def modules() -> Dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    out = {}
    for path in sorted(PKG_DIR.rglob("*.py")):
        parts = (ROOT, *path.relative_to(PKG_DIR).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = modules()


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def ancestors(name: str) -> List[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _resolve_from(importer: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    package = importer if is_package(importer) else importer.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(name: str) -> List[Import]:
    """The imports of one module, as they run: relative ones resolved, ``from
    pkg import submodule`` pointing at the submodule."""
    tree = ast.parse(MODULES[name].read_text(), str(MODULES[name]))
    found: List[Import] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child, lazy)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append(Import(name, alias.name, lazy, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_from(name, node)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append(Import(name, sub if sub in MODULES else base, lazy, node.lineno))
        inner = lazy or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(tree, False)
    return found


def edges_of(imp: Import) -> List[str]:
    """The keystone_py modules an import runs: the target and every package above
    it that the importer is not already inside."""
    if not imp.target.startswith(ROOT):
        return []
    target = imp.target
    while target not in MODULES:  # `import keystone_py.x.attr`-style: the module part
        target = target.rpartition(".")[0]
    mine = set(ancestors(imp.importer))
    return [m for m in [*ancestors(target), target] if m not in mine and m != imp.importer]


ALL_IMPORTS = {name: imports_of(name) for name in MODULES}


def graph(lazy: bool = True) -> Dict[str, Set[str]]:
    """module -> the keystone_py modules it imports (with or without the lazy ones)."""
    return {name: {m for imp in imps if lazy or not imp.lazy for m in edges_of(imp)}
            for name, imps in ALL_IMPORTS.items()}


def find_cycle(g: Dict[str, Set[str]]) -> Optional[List[str]]:
    """One cycle of ``g`` (its modules in order, the first repeated at the end), or None."""
    state: Dict[str, int] = {}  # 1: on the DFS stack, 2: done
    stack: List[str] = []

    def dfs(node: str) -> Optional[List[str]]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(g.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = dfs(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(g):
        if node not in state:
            cycle = dfs(node)
            if cycle:
                return cycle
    return None


def third_party(names: Set[str]) -> Set[str]:
    return {n.partition(".")[0] for n in names} - set(sys.stdlib_module_names) - {ROOT}


def closure_third_party(name: str) -> Set[str]:
    """Third-party modules importing ``name`` pulls in (module-level imports only)."""
    g = graph(lazy=False)
    seen, todo, out = set(), [name, *ancestors(name)], set()
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        seen.add(mod)
        out |= third_party({i.target for i in ALL_IMPORTS[mod] if not i.lazy})
        todo.extend(g[mod])
    return out


def layer(name: str) -> int:
    for rank, members in enumerate(LAYERS):
        if name in members or any(a in members for a in ancestors(name)[1:]):
            return rank
    raise AssertionError(f"{name} is in no layer of LAYERS: add it")


def subpackage(name: str) -> str:
    return ".".join(name.split(".")[:2])


# -- the checks ------------------------------------------------------------------------
def test_the_graph_sees_the_package():
    assert {"keystone_py.build.cargo", "keystone_py.qemu.machine", "keystone_py.cli.main",
            "keystone_py.pytest_plugin"} <= set(MODULES)
    g = graph()
    assert "keystone_py.build.linux" in g["keystone_py.build.targets"]
    # An import of keystone_py.qemu.machine from outside runs keystone_py.qemu first.
    assert "keystone_py.qemu" in g["keystone_py.gdb.interactive"]


def test_the_module_graph_with_function_local_imports_is_acyclic():
    cycle = find_cycle(graph(lazy=True))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_every_import_goes_down_the_layers_or_stays_in_its_subpackage():
    bad = [str(imp) for imps in ALL_IMPORTS.values() for imp in imps
           for target in edges_of(imp)
           if subpackage(target) != subpackage(imp.importer)
           and layer(target) >= layer(imp.importer)]
    assert not bad, "imports against the layers:\n" + "\n".join(bad)


@needs_stdlib_names
def test_function_local_imports_only_keep_third_party_modules_out_of_start_up():
    """A keystone_py import inside a function is justified only when the module it
    imports brings a third-party module its importer does not already have."""
    bad = []
    for name, imps in ALL_IMPORTS.items():
        have = closure_third_party(name)
        for imp in imps:
            if imp.lazy and imp.target.startswith(ROOT) and not closure_third_party(
                    imp.target) - have:
                bad.append(str(imp))
    assert not bad, "move these to the top of their module:\n" + "\n".join(bad)


@needs_stdlib_names
@pytest.mark.parametrize("module", ["keystone_py.cli", "keystone_py.cli.main",
                                    "keystone_py.toolchain", "keystone_py.build"])
def test_the_cli_toolchain_and_build_import_only_the_standard_library(module):
    assert closure_third_party(module) == set()

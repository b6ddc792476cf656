"""The Rust worlds keep their layers: within each crate, the top-level modules
import each other without cycles (a `crate::a` reference inside module `b` is
an edge b -> a). Checked from the source text, so it runs on any machine."""

import re
from pathlib import Path
from typing import Dict, List, Set

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Crate source folders whose top-level modules must form a DAG.
CRATES = ["sm_rs/src", "sm_rs/core/src", "sm_rs/hal/src", "runtime/src", "payload/src"]

REF = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")
USE_GROUP = re.compile(r"\buse\s+crate::\{([^}]*)\}", re.S)


def module_of(src: Path, path: Path) -> str:
    rel = path.relative_to(src).parts
    name = rel[0]
    return name[:-3] if name.endswith(".rs") else name


def module_graph(src: Path) -> Dict[str, Set[str]]:
    files = sorted(src.rglob("*.rs"))
    mods = {module_of(src, f) for f in files} - {"main", "lib"}
    graph: Dict[str, Set[str]] = {m: set() for m in mods}
    for f in files:
        me = module_of(src, f)
        if me in ("main", "lib"):
            continue
        text = re.sub(r"//[^\n]*", "", f.read_text())
        targets = set(REF.findall(text))
        for group in USE_GROUP.findall(text):
            targets |= {t.strip().split("::")[0].split(" ")[0] for t in group.split(",")}
        graph[me] |= {t for t in targets if t in mods and t != me}
    return graph


def find_cycle(graph: Dict[str, Set[str]]) -> List[str]:
    state: Dict[str, int] = {}
    stack: List[str] = []

    def visit(n: str) -> List[str]:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return []

    for n in sorted(graph):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return []


@pytest.mark.parametrize("crate", CRATES)
def test_modules_of_the_crate_import_each_other_without_cycles(crate):
    graph = module_graph(ROOT / crate)
    assert graph, f"no modules found in {crate}"
    cycle = find_cycle(graph)
    assert not cycle, f"{crate}: import cycle " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []

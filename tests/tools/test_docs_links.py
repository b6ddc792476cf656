"""The documents hold together: links lead somewhere, the README stays a front door.

* Every relative link in a tracked markdown file (``[text](path)``,
  ``[text](path#anchor)``, ``[text](#anchor)``, ``[ref]: path``) names a file
  or folder git tracks, and an anchor into a markdown file names one of its
  headings (GitHub's slugs). Links inside code blocks and code spans are text.
* README.md stays short (:data:`README_BUDGET` lines): the long material
  belongs in ``docs/``.
* The README's folder table (the table whose first column is ``folder``)
  names every top-level folder that holds tracked files, every Cargo crate
  (each folder with a tracked ``Cargo.toml`` but the workspace root, the
  workspace members among them), every component under ``sdk/`` and
  ``examples/``, and every kernel module folder (a tracked ``Kbuild``).
* The package map in docs/python.md names every module of ``keystone_py``
  and every test folder.

Like ``test_citations.py``, a link to a file git does not track fails: a
clone would not have it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Dict, FrozenSet, Iterable, Iterator, List, Optional, Set, Tuple

import pytest

from .test_citations import _git  # the one git ls-files reader of the document tests

ROOT = Path(__file__).resolve().parents[2]

#: Most lines README.md may have.
README_BUDGET = 230
#: Folders whose every subfolder is a component of its own (an SDK, a set of examples).
COMPONENT_PARENTS = ("sdk", "examples")

#: An inline link or image: [text](target) or [text](target "title").
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]"
                         r"\(\s*<?(?P<target>[^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
#: A reference definition: [label]: target
REFERENCE_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(?P<target>\S+?)>?(?:\s+.*)?$")
#: A code span (one or more backticks, the same number closing it).
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
#: An ATX heading.
HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(?P<text>.*?)\s*#*\s*$")
#: A scheme (https:, mailto:, ...): not a file of ours.
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


@lru_cache(maxsize=None)
def tracked() -> FrozenSet[str]:
    """Files git tracks that are still on disk (what a clone of this tree has)."""
    return frozenset(p for p in _git("ls-files", "-z", "--cached") if (ROOT / p).is_file())


@lru_cache(maxsize=None)
def tracked_dirs() -> FrozenSet[str]:
    """Every folder that holds a tracked file, at any depth."""
    dirs: Set[str] = set()
    for f in tracked():
        parent = PurePosixPath(f).parent
        while str(parent) != ".":
            dirs.add(str(parent))
            parent = parent.parent
    return frozenset(dirs)


def lines_outside_fences(text: str) -> Iterator[Tuple[int, str]]:
    """(line number, line) of the text outside fenced code blocks."""
    fence: Optional[str] = None
    for n, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip()
        if fence is None and stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
            continue
        if fence is not None:
            if stripped.startswith(fence):
                fence = None
            continue
        yield n, line


def prose_lines(text: str) -> Iterator[Tuple[int, str]]:
    """Lines outside fenced code blocks, with code spans blanked out."""
    for n, line in lines_outside_fences(text):
        yield n, CODE_SPAN.sub(lambda m: " " * len(m.group(0)), line)


def links(text: str) -> Iterator[Tuple[int, str]]:
    """(line number, target) of every link written in the markdown text."""
    for n, line in prose_lines(text):
        for m in INLINE_LINK.finditer(line):
            yield n, m["target"]
        m = REFERENCE_DEF.match(line)
        if m:
            yield n, m["target"]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, code and link markup dropped,
    punctuation but '-' and '_' removed, each space a hyphen."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # [text](url) -> text
    text = text.replace("`", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text: str) -> FrozenSet[str]:
    """Every heading anchor of a markdown text (a repeated slug gets -1, -2, ...)."""
    seen: Dict[str, int] = {}
    out: Set[str] = set()
    for _, line in lines_outside_fences(text):
        m = HEADING.match(line)
        if not m:
            continue
        base = slug(m["text"])
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.add(base if count == 0 else f"{base}-{count}")
    return frozenset(out)


@lru_cache(maxsize=None)
def anchors_of(rel: str) -> FrozenSet[str]:
    """The heading anchors of a tracked markdown file."""
    return anchors((ROOT / rel).read_text())


def resolve(source: str, target: str) -> Tuple[Optional[str], Optional[str]]:
    """(root-relative path the link names or None if it leaves the repository,
    anchor or None). An empty path is the source file itself."""
    path, _, anchor = target.partition("#")
    if not path:
        return source, anchor or None
    parts: List[str] = []
    base = PurePosixPath("") if path.startswith("/") else PurePosixPath(source).parent
    for part in (base / path.lstrip("/")).parts:
        if part == "..":
            if not parts:
                return None, anchor or None
            parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    return "/".join(parts), anchor or None


def markdown_files() -> List[str]:
    return sorted(f for f in tracked() if f.endswith(".md"))


def broken_links(files: Iterable[str]) -> List[str]:
    """One line per link that names nothing (a missing file, folder or heading)."""
    broken = []
    for rel in files:
        for n, target in links((ROOT / rel).read_text()):
            if SCHEME.match(target):
                continue
            path, anchor = resolve(rel, target)
            where = f"{rel}:{n}: ({target})"
            if path is None:
                broken.append(f"{where} leaves the repository")
            elif path not in tracked() and path.rstrip("/") not in tracked_dirs():
                broken.append(f"{where}: no tracked file or folder {path}")
            elif anchor and path.endswith(".md") and anchor not in anchors_of(path):
                broken.append(f"{where}: {path} has no heading #{anchor}")
    return broken


def folder_table(text: str) -> List[str]:
    """The paths in the first column of the README table headed ``| folder |``."""
    rows: List[str] = []
    in_table = False
    for _, line in lines_outside_fences(text):
        if not line.startswith("|"):
            if in_table:
                break
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not in_table:
            in_table = cells[0].lower() == "folder"
            continue
        if set(cells[0]) <= set("-: "):
            continue
        rows += [p.strip("/") for p in re.findall(r"`([^`]+)`", cells[0])]
    return rows


def workspace_members(cargo_toml: str) -> List[str]:
    """The ``members`` of the root Cargo.toml's ``[workspace]`` (read with a pattern:
    ``tomllib`` is Python 3.11+, and this project runs on 3.9)."""
    section = re.search(r"^\[workspace\]\s*$(.*?)(?=^\[|\Z)", cargo_toml, re.M | re.S)
    members = section and re.search(r"^members\s*=\s*\[(.*?)\]", section.group(1), re.M | re.S)
    assert members, "no [workspace] members in Cargo.toml"
    return re.findall(r"\"([^\"]+)\"", members.group(1))


def folders_the_map_must_name() -> Set[str]:
    """Top-level folders with tracked files, crate folders, workspace members,
    components under COMPONENT_PARENTS, kernel module folders."""
    need = {d for d in tracked_dirs() if "/" not in d}
    need |= {str(PurePosixPath(f).parent) for f in tracked()
             if PurePosixPath(f).name in ("Cargo.toml", "Kbuild") and "/" in f}
    need |= {m.strip("/") for m in workspace_members((ROOT / "Cargo.toml").read_text())}
    need |= {d for d in tracked_dirs()
             if str(PurePosixPath(d).parent) in COMPONENT_PARENTS}
    return need


#: The document holding the package map, and the heading above it.
PACKAGE_MAP = ("docs/python.md", "The Python package and its tests")


def package_map(text: str, heading: str) -> Set[str]:
    """Paths named by the first code block after ``heading``: a line starting
    at column 0 is a folder (``keystone_py/``); an indented ``name/`` opens a
    subfolder that continuation lines stay in; each ``x.py`` is a file there."""
    after = text[text.index(f"## {heading}"):]
    block = re.search(r"```[^\n]*\n(.*?)```", after, re.S)
    assert block, f"no code block after '## {heading}'"
    named: Set[str] = set()
    top = sub = ""
    for line in block.group(1).splitlines():
        words = line.split()
        if not words:
            continue
        if not line.startswith(" "):
            top, sub = words[0], ""
            continue
        if words[0].endswith("/"):
            sub = words[0]
            named.add(top + sub.rstrip("/"))
        named |= {top + sub + w for w in words if w.endswith(".py")}
    return named


# ------------------------------------------------------------------ the checks


def test_every_relative_link_leads_to_a_tracked_file_or_heading():
    files = markdown_files()
    assert "README.md" in files and "docs/README.md" in files
    broken = broken_links(files)
    assert not broken, ("links that lead nowhere in a clone (fix the path or the "
                        "anchor, or git add the file):\n  " + "\n  ".join(broken))


def test_the_readme_stays_within_its_line_budget():
    lines = (ROOT / "README.md").read_text().count("\n")
    assert lines <= README_BUDGET, (
        f"README.md has {lines} lines, the budget is {README_BUDGET}: move the detail "
        "into a document under docs/ and link it")


def test_the_readmes_folder_table_names_every_folder_and_crate():
    rows = folder_table((ROOT / "README.md").read_text())
    assert rows, "README.md has no table with a first column headed 'folder'"
    missing = sorted(folders_the_map_must_name() - set(rows))
    assert not missing, ("README.md's folder table leaves out: " + ", ".join(missing)
                         + " (add a row saying what each holds)")
    gone = sorted(r for r in rows if r not in tracked_dirs())
    assert not gone, "README.md's folder table names folders git does not have: " + ", ".join(gone)


# --------------------------------------------------------- the parsing, on its own


@pytest.mark.parametrize("heading, expected", [
    ("The `keystone-py` command", "the-keystone-py-command"),
    ("Set up on a fresh machine (Debian 12, as root)",
     "set-up-on-a-fresh-machine-debian-12-as-root"),
    ("Compatibility with Keystone's SM, call by call",
     "compatibility-with-keystones-sm-call-by-call"),
    ("5. One enclave call, end to end", "5-one-enclave-call-end-to-end"),
    ("The Linux driver (`linux_host/driver`)", "the-linux-driver-linux_hostdriver"),
    ("See [abi](docs/abi.md) here", "see-abi-here"),
])
def test_slug(heading: str, expected: str):
    assert slug(heading) == expected


def test_repeated_headings_get_numbered_anchors():
    assert anchors("# A\n## Notes\n```\n# not a heading\n```\n## Notes\n") == {
        "a", "notes", "notes-1"}


@pytest.mark.parametrize("line, expected", [
    ("see [abi](docs/abi.md#1-sbi) and ![img](a/b.png)", ["docs/abi.md#1-sbi", "a/b.png"]),
    ("[x](<path with>) `[y](not/a/link.txt)` [z](#here \"title\")", ["#here"]),
    ("[ref]: ../notes.txt", ["../notes.txt"]),
    ("```\n[in](code.txt)\n```\n[out](out.txt)", ["out.txt"]),
    ("[a [nested] label](x.txt)", ["x.txt"]),
])
def test_links_are_found_outside_code(line: str, expected: List[str]):
    assert [t for _, t in links(line)] == expected


@pytest.mark.parametrize("source, target, expected", [
    ("docs/setup.md", "bench.txt#x", ("docs/bench.txt", "x")),
    ("docs/setup.md", "../notes.txt", ("notes.txt", None)),
    ("README.md", "#map", ("README.md", "map")),
    ("README.md", "../outside.txt", (None, None)),
    ("docs/a.txt", "/sm_rs/", ("sm_rs", None)),
])
def test_resolve(source: str, target: str, expected: Tuple[Optional[str], Optional[str]]):
    assert resolve(source, target) == expected


def test_workspace_members_are_read_from_the_workspace_section():
    text = ('[package]\nmembers = ["no"]\n[workspace]\nresolver = "2"\n'
            'members = ["sm_rs",\n  "sdk/abi"]\n[workspace.package]\nversion = "0.1.0"\n')
    assert workspace_members(text) == ["sm_rs", "sdk/abi"]


def test_the_folder_table_is_read_from_its_first_column():
    text = ("intro\n\n| folder | what |\n|---|---|\n| `sm_rs/` | SM, see `qemu/` |\n"
            "| `sdk/abi/`, `sdk/c/` | SDKs |\n\nafter\n| `not/this/` | x |\n")
    assert folder_table(text) == ["sm_rs", "sdk/abi", "sdk/c"]


def test_the_package_map_names_every_module_and_test_folder():
    doc, heading = PACKAGE_MAP
    named = package_map((ROOT / doc).read_text(), heading)
    modules = {f for f in tracked() if f.startswith("keystone_py/") and f.endswith(".py")
               and PurePosixPath(f).name != "__init__.py"}
    test_dirs = {d for d in tracked_dirs() if str(PurePosixPath(d).parent) == "tests"
                 and not PurePosixPath(d).name.startswith("__")}
    missing = sorted((modules | test_dirs) - named)
    assert not missing, f"{doc}'s package map leaves out: " + ", ".join(missing)
    gone = sorted(n for n in named if n not in tracked() and n not in tracked_dirs())
    assert not gone, f"{doc}'s package map names what git does not have: " + ", ".join(gone)


def test_the_package_map_is_read_by_folder():
    text = ("## Map\n\n```\npkg/\n  a.py b.py\n  sub/   c.py\n         d.py\n"
            "tests/\n  unit/  pure\n```\n")
    assert package_map(text, "Map") == {
        "pkg/a.py", "pkg/b.py", "pkg/sub", "pkg/sub/c.py", "pkg/sub/d.py", "tests/unit"}

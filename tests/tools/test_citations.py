"""Every markdown file the repository cites is in the repository.

A reader who follows a reference (``docs/abi.md §6``, ``zcore_patch/README.md``)
from a comment, a docstring or a document must find it in their clone, and
the numbered section it names must exist. The scan covers every text file git
knows (tracked, plus new files not ignored); a cited file must be tracked, so
a new document is caught until it is ``git add``-ed.

A reference is a path ending in ``.md`` (see ``REFERENCE``), resolved against
the repository root and against the citing file's folder, optionally followed
by ``§N``, ``§N.M`` or a range ``§N-M``: each number must be a numbered
heading (``## 6.``, ``### 6.2``) of the cited file. URLs are not references.
In a ``.patch`` file only our own lines count (the header, added lines):
context and removed lines are the patched project's text.

The internal design notes of the project's machines live outside the
repository, so nothing may send a reader to ``../shared`` either, except the
optional source folder of zCore's archives (``../shared/vendor/...``, a
build flag with a fallback).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Dict, FrozenSet, Iterator, List, Optional, Set, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: A path ending in .md, not glued to a longer token, and an optional section.
REFERENCE = re.compile(
    r"(?<![\w./-])(?P<path>[\w./-]*\w\.md)\b"
    r"(?:[ \t]*§[ \t]*(?P<section>\d+(?:\.\d+)*(?:[ \t]*[-–][ \t]*\d+(?:\.\d+)*)?))?")
#: URLs name other sites' files, not ours.
URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+")
#: A numbered markdown heading: "## 6. The enclave device", "### 6.2 Commands".
HEADING = re.compile(r"^#{1,6}[ \t]+(?P<number>\d+(?:\.\d+)*)\.?[ \t]")
#: A path into the machines' shared folder that is not the vendored archives.
SHARED = re.compile(r"\.\./shared/(?!vendor/)")

#: References that are not to our files, by (citing file, reference). Keep it
#: tiny, each with the reason. (Empty: Keystone's own files are named by
#: their place in Keystone's tree, never as a bare ``.md`` path.)
NOT_OURS: Dict[Tuple[str, str], str] = {}


@dataclass(frozen=True)
class Citation:
    file: str  # citing file, relative to the root
    line: int
    path: str  # the cited path as written
    section: Optional[str]  # "6", "6.2", "1-4" or None

    def __str__(self) -> str:
        cited = f"{self.path} §{self.section}" if self.section else self.path
        return f"{self.file}:{self.line}: {cited}"


def _git(*args: str) -> List[str]:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"needs a git checkout: {exc}")
    return [p for p in out.decode().split("\0") if p]


@lru_cache(maxsize=None)
def tracked() -> FrozenSet[str]:
    """Files git tracks (what a clone has)."""
    return frozenset(_git("ls-files", "-z", "--cached"))


@lru_cache(maxsize=None)
def scanned() -> Tuple[str, ...]:
    """Files to scan: tracked ones still on disk, and new files git does not ignore."""
    files = set(tracked()) | set(_git("ls-files", "-z", "--others", "--exclude-standard"))
    return tuple(sorted(f for f in files if (ROOT / f).is_file()))


def text_of(rel: str) -> Optional[str]:
    """The file's text, or None for a binary file."""
    data = (ROOT / rel).read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def our_lines(rel: str, text: str) -> Iterator[Tuple[int, str]]:
    """(line number, line) of the text this project wrote: in a patch, the
    header and the added lines only."""
    in_diff = False
    for n, line in enumerate(text.splitlines(), start=1):
        if rel.endswith(".patch"):
            if line.startswith("diff --git "):
                in_diff = True
            if in_diff and not (line.startswith("+") and not line.startswith("+++")):
                continue
        yield n, line


def citations() -> List[Citation]:
    found = []
    for rel in scanned():
        text = text_of(rel)
        if text is None:
            continue
        for n, line in our_lines(rel, text):
            for m in REFERENCE.finditer(URL.sub(" ", line)):
                found.append(Citation(rel, n, m["path"], m["section"]))
    return found


def candidates(c: Citation) -> List[str]:
    """Root-relative paths a citation may name: from the root, then from the
    citing file's folder (a path that climbs out of the repository names none)."""
    found = []
    for base in (PurePosixPath(), PurePosixPath(c.file).parent):
        parts: List[str] = []
        for part in (base / c.path).parts:
            if part == "..":
                if not parts:
                    break
                parts.pop()
            elif part != ".":
                parts.append(part)
        else:
            found.append("/".join(parts))
    return found


def resolve(c: Citation) -> Optional[str]:
    """The tracked file a citation names (root-relative), or None."""
    return next((p for p in candidates(c) if p in tracked()), None)


@lru_cache(maxsize=None)
def headings(rel: str) -> FrozenSet[str]:
    """Section numbers of a markdown file's numbered headings."""
    numbers: Set[str] = set()
    in_code = False
    for line in (ROOT / rel).read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        m = None if in_code else HEADING.match(line)
        if m:
            numbers.add(m["number"])
    return frozenset(numbers)


def cited_sections(section: str) -> List[str]:
    """'6' -> ['6'], '6.2' -> ['6.2'], '1-4' -> ['1', '2', '3', '4'], '6.1-6.3' -> ends."""
    ends = [s.strip() for s in re.split(r"[-–]", section)]
    if len(ends) == 2 and all(e.isdigit() for e in ends) and int(ends[0]) <= int(ends[1]):
        return [str(i) for i in range(int(ends[0]), int(ends[1]) + 1)]
    return ends


def test_the_scan_sees_the_repository():
    files = scanned()
    assert "README.md" in files and "tests/tools/test_citations.py" in files
    cites = citations()
    assert any(c.path == "docs/abi.md" and c.section for c in cites), "no §-citation found"


def test_every_cited_markdown_file_is_in_the_repository():
    missing = []
    for c in citations():
        if (c.file, c.path) in NOT_OURS or resolve(c) is not None:
            continue
        untracked = any((ROOT / p).is_file() for p in candidates(c))
        hint = " (it exists, but git does not track it: git add it)" if untracked else ""
        missing.append(f"{c}{hint}")
    assert not missing, (
        "references to markdown files that are not in the repository (a reader's clone "
        "would not have them; cite a file under docs/ or the README instead):\n  "
        + "\n  ".join(missing))


def test_every_cited_section_is_a_numbered_heading():
    wrong = []
    for c in citations():
        target = resolve(c)
        if c.section is None or target is None:
            continue
        have = headings(target)
        absent = [s for s in cited_sections(c.section) if s not in have]
        if absent:
            tops = sorted({s.split(".")[0] for s in have}, key=int)
            shown = f"sections {', '.join(tops)} and their subsections" if tops else "none"
            wrong.append(f"{c}: no section {', '.join(absent)} in {target} (it has {shown})")
    assert not wrong, "citations of sections that do not exist:\n  " + "\n  ".join(wrong)


def test_nothing_sends_a_reader_to_the_machines_shared_folder():
    found = []
    for rel in scanned():
        text = text_of(rel)
        if text is None:
            continue
        for n, line in our_lines(rel, text):
            if SHARED.search(line):
                found.append(f"{rel}:{n}: {line.strip()}")
    assert not found, (
        "../shared is outside the repository (only ../shared/vendor/..., an optional "
        "source folder, may be named):\n  " + "\n  ".join(found))


def test_the_allow_list_holds_only_live_entries():
    cited = {(c.file, c.path) for c in citations()}
    stale = [f"{f}: {p}" for f, p in NOT_OURS if (f, p) not in cited]
    assert not stale, "NOT_OURS entries no file cites any more: " + ", ".join(stale)


@pytest.mark.parametrize("section, expected", [
    ("6", ["6"]), ("6.2", ["6.2"]), ("1-4", ["1", "2", "3", "4"]), ("7-8", ["7", "8"]),
    ("6.1-6.3", ["6.1", "6.3"]),
])
def test_section_ranges(section: str, expected: List[str]):
    assert cited_sections(section) == expected


@pytest.mark.parametrize("line, expected", [
    ("see docs/abi.md §6.", [("docs/abi.md", "6")]),
    ("(docs/abi.md §1-4): ids", [("docs/abi.md", "1-4")]),
    ("docs/abi.md§7.1 step 4", [("docs/abi.md", "7.1")]),
    ("[README.md](README.md#bench)", [("README.md", None), ("README.md", None)]),
    ("https://example.org/x/README.md and ../../ARCHITECTURE.md",
     [("../../ARCHITECTURE.md", None)]),
    ("f'{name}.md' or *.md or .md", []),
])
def test_reference_pattern(line: str, expected: List[Tuple[str, Optional[str]]]):
    got = [(m["path"], m["section"]) for m in REFERENCE.finditer(URL.sub(" ", line))]
    assert got == expected

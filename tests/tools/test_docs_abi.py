"""docs/abi.md quotes the crate sdk/abi, not a memory of it.

Every table row of docs/abi.md that names a generated constant (`` `FID_RUN_ENCLAVE` ``,
a name of ``keystone_py/abi.py``, which tests/tools/test_abi.py keeps equal to the
crate) has that constant's value in its first cell, and every generated constant is
named somewhere in the document, so a new one cannot go undocumented.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Tuple

from keystone_py import abi

DOC = Path(__file__).resolve().parents[2] / "docs/abi.md"
NAME = re.compile(r"`([A-Z][A-Z0-9_]*)`")


def table_rows() -> List[Tuple[int, List[str]]]:
    """(line number, cells) of every table row, header and rule lines included."""
    rows = []
    for n, line in enumerate(DOC.read_text().splitlines(), start=1):
        if line.startswith("|"):
            cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
            rows.append((n, [c.strip() for c in cells]))
    return rows


def number(cell: str) -> int:
    """A first cell's value: decimal or 0x hex, underscores allowed, '-' or '−'."""
    return int(cell.strip("`").replace("−", "-"), 0)


def named_rows() -> Dict[str, List[Tuple[int, str]]]:
    """Generated constant -> (line, first cell) of each row naming it."""
    found: Dict[str, List[Tuple[int, str]]] = {}
    for n, cells in table_rows():
        for cell in cells[1:]:
            m = NAME.fullmatch(cell)
            if m and m[1] in abi.ALL:
                found.setdefault(m[1], []).append((n, cells[0]))
    return found


def test_every_row_naming_a_constant_has_its_value_first():
    wrong = []
    for name, rows in named_rows().items():
        for line, first in rows:
            try:
                ok = number(first) == abi.ALL[name]
            except ValueError:
                ok = False
            if not ok:
                wrong.append(f"docs/abi.md:{line}: {name} is {abi.ALL[name]} "
                             f"({abi.ALL[name]:#x}), the row says {first!r}")
    assert not wrong, "docs/abi.md disagrees with sdk/abi:\n  " + "\n  ".join(wrong)


def test_every_generated_constant_is_documented():
    text = DOC.read_text()
    missing = sorted(n for n in abi.ALL if f"`{n}`" not in text)
    assert not missing, (
        "constants of sdk/abi (keystone_py/abi.py) that docs/abi.md does not name: "
        + ", ".join(missing))
    assert f"`{abi.KEYSTONE_DEVICE_PATH}`" in text


def test_the_check_reads_the_tables():
    rows = named_rows()
    assert len(rows) > 80, sorted(rows)
    assert rows["KEYSTONE_IOC_CREATE_ENCLAVE"][0][1] == "0x8050a400"
    assert number("-1") == -1 and number("0x8050_a400") == 0x8050A400

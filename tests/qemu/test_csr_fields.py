"""No field of a CSR crosses worlds (`-append csr-sweep`, payload/src/csr_sweep.rs),
on every CPU model of the matrix (conftest.py) with 1, 2 and 4 harts.

For each CSR of the world-state table that S-mode can set, the host and the
enclave each write all-ones, all-zeros, 0x5555... and 0xaaaa... (the other
world the complement), and each must read back only its own values; a fresh
enclave must read the same values whatever the host wrote, and start 64-bit.
Then the XLEN and VS-timer checks: sstatus.UXL both ways (with a U-mode
``srli`` probe and a positive control that shows it tells RV32 from RV64),
vsstatus.UXL both ways, VSTIP both ways with and without Sstc. With several
harts the suite runs again on the last hart. Every TAP line must be ok
(``# SKIP`` lines are: H checks without H, Sstc checks without Sstc)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from keystone_py.contract import PAYLOAD_DONE, SM_BANNER
from keystone_py.tap import parse_tap

SRC = Path(__file__).resolve().parents[2] / "payload/src/csr_sweep.rs"


@pytest.mark.parametrize("smp", [1, 2, 4])
def test_no_csr_field_crosses_worlds(machine_factory, cpu, smp):
    with machine_factory(smp=smp, name=f"csr-sweep-{cpu}-smp{smp}", extra_args=cpu.args,
                         append="csr-sweep") as m:
        m.expect(SM_BANNER, timeout=20)
        m.expect(PAYLOAD_DONE, timeout=300)
        status = m.wait_exit(timeout=30)
    text = m.console_text
    for line in text.splitlines():
        if line.startswith("# csr-field"):
            print(f"[{cpu} smp{smp}] {line}")
    report = parse_tap(text)
    print(f"[{cpu} smp{smp}] {len(report.passed)} ok, {len(report.failed)} not ok")
    assert report.complete and not report.failed, report.summary()
    assert status == 0
    names = [r.description for r in report.results]
    # The suite ran on the last hart too, and the sweep covered the table's
    # CSRs this hart has (the H and Sstc ones where present).
    harts = {int(h) for h in re.findall(r"hart (\d+)", " ".join(names))}
    assert len(harts) == (1 if smp == 1 else 2), harts
    present = [int(n) for n in re.findall(r"# csr-field: hart \d+: (\d+) of 32", text)]
    floor = {"default": 32, "sstc=false": 30, "h=false": 12}[str(cpu)]
    assert len(present) == len(harts) and min(present) >= floor, present
    skipped = [r.description for r in report.results if r.skipped]
    if str(cpu) == "default":
        assert not skipped, skipped


def test_csr_field_check_names_carry_their_class():
    """Every check of the suite is named ``csr-field: ...``."""
    names = re.findall(r'(?:check|skip)!\(\s*[^"]*"([a-z-]+):', SRC.read_text())
    assert names and set(names) == {"csr-field"}, set(names)

"""The CLINT is the SM's (`-append clint`, payload/src/clint_attack.rs), on every
CPU model of the matrix (conftest.py) with 1, 2 and 4 harts.

On each hart the host (S-mode payload) and a fresh test enclave load mtime
and store to mtime and to msip/mtimecmp (their own hart's and another's):
every access must fault (scause 5/7, stval the address). Time still works
the legal ways (time CSR, SBI set_timer — without Sstc driven by the SM
through mtimecmp from M-mode — and the host's stimecmp under Sstc), and the
device tree handed to the host marks the CLINT node disabled."""

from __future__ import annotations

import pytest

from keystone_py.contract import PAYLOAD_DONE, SM_BANNER
from keystone_py.tap import parse_tap


def _expected(smp: int, sstc: bool) -> list[str]:
    """Every check name the run must print (all ok) on `smp` harts."""
    names = ['dtb: the CLINT node is status = "disabled" (the SM owns it)']
    for me in range(smp):
        other = (me + 1) % smp if smp > 1 else None
        targets = ["mtime", f"hart {me}'s msip", f"hart {me}'s mtimecmp"]
        if other is not None:
            targets += [f"hart {other}'s msip", f"hart {other}'s mtimecmp"]
        for who in ("host", "enclave"):
            names.append(f"clint: {who} load of mtime faults on hart {me}")
            names += [f"clint: {who} store to {t} faults on hart {me}" for t in targets]
        names.append("clint: SBI set_timer raises the supervisor timer and the time CSR "
                     f"advances on hart {me}")
        if sstc:
            names.append("clint: the host's Sstc stimecmp raises the supervisor timer "
                         f"on hart {me}")
        if me != 0:
            names.append(f"clint: hart {me} starts and finishes its probes")
    return names


@pytest.mark.parametrize("smp", [1, 2, 4])
def test_clint_is_closed_to_the_host_and_to_enclaves(machine_factory, cpu, smp):
    with machine_factory(smp=smp, name=f"clint-{cpu}-smp{smp}", extra_args=cpu.args,
                         append="clint") as m:
        m.expect(SM_BANNER, timeout=20)
        m.expect(PAYLOAD_DONE, timeout=300)
        status = m.wait_exit(timeout=30)
    report = parse_tap(m.console_text)
    for r in report.failed:
        print(f"[{cpu} smp{smp}] not ok {r.number} - {r.description}")
    seen = {r.description: r.ok for r in report.results}
    missing = [n for n in _expected(smp, cpu.name != "sstc=false") if n not in seen]
    assert not missing, f"checks never ran: {missing}"
    assert report.complete and not report.failed, report.summary()
    assert status == 0

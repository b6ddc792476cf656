"""The world switch accounts for every CSR the hart has: the SM probes all
4096 CSR numbers in M-mode (boot option ``sm.csr-probe``) and names each one
it finds that ``sm::world_csrs::TABLE`` does not. Run on every CPU of the
machine matrix, so a hart with state nobody thought about fails here."""

import re

import pytest

from keystone_py.contract import SM_BANNER

PROBE = re.compile(r"SM: csr probe: (\d+) CSRs present, (\d+) not in the table")

#: (QEMU -cpu, CSRs the hart must at least have: the H and Sstc ones counted).
MACHINES = {
    "default": (None, 140),
    "sstc-off": ("rv64,sstc=false", 140),
    "h-off": ("rv64,h=false", 110),
}


@pytest.mark.parametrize("machine", list(MACHINES))
def test_every_csr_the_hart_has_is_named_in_the_world_state_table(machine_factory, machine):
    cpu, at_least = MACHINES[machine]
    extra = ["-cpu", cpu] if cpu else []
    with machine_factory(append="sm.csr-probe hang", extra_args=extra, name=machine) as m:
        m.expect(SM_BANNER, timeout=20)
        found = m.expect(PROBE, timeout=60)
    unnamed = re.findall(r"CSR (0x[0-9a-f]+) is present but not in", m.console_text)
    assert int(found.group(2)) == 0 and not unnamed, unnamed
    assert int(found.group(1)) >= at_least


def test_the_probe_sees_the_h_extension_come_and_go(machine_factory):
    counts = {}
    for machine in ("default", "h-off"):
        cpu = MACHINES[machine][0]
        extra = ["-cpu", cpu] if cpu else []
        with machine_factory(append="sm.csr-probe hang", extra_args=extra,
                             name=f"count-{machine}") as m:
            counts[machine] = int(m.expect(PROBE, timeout=60).group(1))
    # hstatus ... hgatp, vsstatus ... vsatp, vstimecmp, mtinst, mtval2: 25 CSRs.
    assert counts["default"] - counts["h-off"] == 25, counts

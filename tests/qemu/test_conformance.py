"""The SM boots the conformance payload in QEMU; every check passes, on every
CPU model of the matrix (conftest.py: default, sstc=false, h=false)."""

import pytest

from keystone_py.contract import NOT_OK, PAYLOAD_DONE, PLAN, SM_BANNER
from keystone_py.tap import parse_tap


@pytest.mark.parametrize("smp", [1, 4])
def test_clean_boot_passes_every_conformance_check(machine_factory, cpu, smp):
    with machine_factory(smp=smp, name=f"{cpu}-smp{smp}", extra_args=cpu.args) as m:
        banner = m.expect(SM_BANNER, timeout=20)
        m.expect(PLAN, fail=[NOT_OK], timeout=120)
        m.expect(PAYLOAD_DONE, timeout=10)
        status = m.wait_exit(timeout=20)
    report = parse_tap(m.console_text)
    assert banner.group(0).startswith("keystone-rs SM v")
    assert report.plan is not None and report.plan > 0
    assert report.plan == len(report.passed), report.summary()
    assert not report.failed, report.summary()
    assert report.complete and report.all_ok, report.summary()
    assert status == 0

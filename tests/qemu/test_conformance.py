"""The SM boots the conformance payload in QEMU; every check passes, on every
CPU model of the matrix (conftest.py: default, sstc=false, h=false) with 1, 2
and 4 harts.

Each TAP line the payload prints is a test of its own, named by its check
(``conformance[default-1]/003 base.get_spec_version is 2.0``); the payload
runs once per machine config, and the whole-run test checks the banner, the
plan, the summary and QEMU's exit status."""

import re

import pytest

from keystone_py.contract import PAYLOAD_DONE, SM_BANNER
from keystone_py.pytest_plugin import TapContext, TapRun, tap_checks


def boot_conformance(ctx: TapContext, cpu, smp: int) -> TapRun:
    """One clean boot of the payload, to its end (a failed check does not stop it)."""
    with ctx.machine(f"{cpu}-smp{smp}", smp=smp, extra_args=cpu.args) as m:
        m.expect(SM_BANNER, timeout=20)
        m.expect(PAYLOAD_DONE, timeout=120)
        status = m.wait_exit(timeout=20)
    return TapRun.of(m, status)


@tap_checks(boot_conformance, name="conformance")
@pytest.mark.parametrize("smp", [1, 2, 4])
def test_clean_boot_passes_every_conformance_check(tap_run, cpu, smp):
    report = tap_run.report
    banner = re.search(SM_BANNER, tap_run.text)
    assert banner and banner.group(0).startswith("keystone-rs SM v")
    assert report.plan is not None and report.plan > 0
    assert report.plan == len(report.passed), report.summary()
    assert not report.failed, report.summary()
    assert report.complete and report.all_ok, report.summary()
    assert tap_run.status == 0

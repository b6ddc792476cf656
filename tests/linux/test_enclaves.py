"""The whole stack on Linux: our SM, Linux 6.1 with the enclave driver, the
Rust host SDK's apps and the Eyrie-compatible runtime, driven through /init.

Keystone's own test list (docs/abi.md §9) runs through `test-runner` with
Keystone's arguments (`<eapp> eyrie-rt loader.bin --retval N`, 48 MiB free
memory, 2 MiB UTM) and Keystone's expected values and lines. Then the driver:
enclaves at once from one process and from four processes on four harts, a
long enclave stopped many times while another process keeps running, a host
killed mid-enclave giving everything back, and bad ioctls refused with errnos
and no oops (every console wait fails at once on an oops, see
contract.LINUX_FAIL_PATTERNS).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from keystone_py.attest import devkey
from keystone_py.qemu.guest import LinuxGuest, linux_machine

from ..host_checks import (
    KEYSTONE_TESTS,
    SECRET,
    check_attestation_report,
    check_attestor_report,
    check_kill_gave_everything_back,
    figures,
    runner,
)

BOOT_TIMEOUT = 180
FAULT_BASE = 0xFA17_0000
LOAD_PAGE_FAULT = 13


def _boot(ks_paths, ks_linux, log_dir: Path, smp: int):
    page = devkey.write_page(log_dir / "device.key", SECRET)
    return linux_machine(ks_linux, firmware="ours", smp=smp, memory="512M",
                         toolchain=ks_paths.toolchain, name=f"enclaves-smp{smp}",
                         log_dir=log_dir / f"smp{smp}",
                         extra_args=[*ks_paths.qemu_args, *devkey.qemu_args(page)])


@pytest.fixture(scope="module")
def guest(ks_paths, ks_linux, tmp_path_factory):
    """One Linux guest (1 hart) for the module: booted once, powered off at the end."""
    log_dir = ks_paths.build_dir / "test-logs" / "linux_enclaves"
    log_dir.mkdir(parents=True, exist_ok=True)
    with _boot(ks_paths, ks_linux, log_dir, smp=1) as m:
        g = LinuxGuest(m)
        g.wait_ready(timeout=BOOT_TIMEOUT)
        g.wait_prompt()
        yield g
        assert g.poweroff() == 0


#: Lines the kernel may print on the console in the middle of a program's output when
#: the build machine is busy (``hrtimer: interrupt took 5604700 ns``, RCU stall notes).
KERNEL_NOTE = re.compile(r"\s*(\[\s*\d+\.\d+\]\s|hrtimer: |rcu: |INFO: rcu)")


@pytest.mark.parametrize("eapp,retval,lines", KEYSTONE_TESTS, ids=[t[0] for t in KEYSTONE_TESTS])
def test_keystone_test_list_on_linux(guest, eapp, retval, lines):
    run = runner(guest, eapp, f"--retval {retval}")
    assert run.status == 0, str(run)
    assert "[FAIL]" not in run.output, str(run)
    got = figures(run)
    assert got["value"] == retval
    out = [ln.strip() for ln in run.lines
           if not ln.startswith(("test-runner:", "# report")) and not KERNEL_NOTE.match(ln)]
    if lines:
        pos = [out.index(want) for want in lines]  # each line is there ...
        assert pos == sorted(pos), out  # ... in Keystone's order
    else:
        assert out == [], out  # no output besides the figures
    if eapp in ("loop", "fibonacci"):
        # Stopped and resumed many times: at HZ=1000 a quiet machine sees 13-18
        # stops, a loaded one as few as 7 (the tick is wall-clock time).
        assert got["interrupts"] >= 5, got
    if eapp == "untrusted":
        assert got["ocalls"] == 5, got


def test_attestation_report_from_linux_verifies(guest, ks_paths, ks_linux):
    check_attestation_report(runner(guest, "attestation", "--retval 0"), ks_paths)


def test_attestor_report_for_a_host_chosen_nonce_verifies(guest, ks_paths):
    check_attestor_report(guest.run("/bin/attestor", 300), ks_paths)


def test_a_wrong_retval_is_reported_as_keystone_does(guest):
    run = runner(guest, "stack", "--retval 1")
    assert run.status == 1, str(run)
    assert "[FAIL] enclave returned 12345, expected 1" in run.lines


def test_faulting_eapp_ends_its_enclave_and_the_next_runs(guest):
    fault = runner(guest, "fault", f"--retval {FAULT_BASE + LOAD_PAGE_FAULT}")
    after = runner(guest, "stack", "--retval 12345")
    assert fault.status == 0, str(fault)
    assert after.status == 0, str(after)


def test_untrusted_host_answers_are_checked_by_the_runtime(guest):
    # edge-checks expects a 64 KiB UTM; an unknown ocall id gets BAD_CALL_ID.
    run = runner(guest, "edge-checks", "--utm-size 65536 --retval 0")
    assert run.status == 0, str(run)


# -- the driver ---------------------------------------------------------------------


def test_bad_ioctls_get_errnos_and_no_oops(guest):
    run = guest.run("/bin/ks-demo bad-ioctl", timeout=120)
    assert run.status == 0, str(run)
    checks = [ln for ln in run.lines if ln.startswith(("PASS", "FAIL"))]
    assert len(checks) >= 25 and all(c.startswith("PASS") for c in checks), str(run)
    for name in ("wrong size", "RUN before FINALIZE", "FINALIZE twice",
                 "another file's enclave", "unknown command"):
        assert any(name in c for c in checks), name
    assert "an enclave runs afterwards: yes" in run.output
    assert not re.search(r"Oops|BUG:|Unable to handle", guest.machine.console_text)


def test_loop_is_interrupted_many_times_while_another_process_progresses(guest):
    run = guest.run("/bin/ks-demo progress loop", timeout=120)
    assert run.status == 0, str(run)
    m = re.search(r"progress: (\d+) INTERRUPTED stops; the other process counted (\d+)",
                  run.output)
    assert m, str(run)
    assert int(m.group(1)) >= 5 and int(m.group(2)) > 0, m.group(0)


def test_killing_the_host_mid_enclave_frees_everything(guest):
    check_kill_gave_everything_back(guest.run("/bin/ks-demo kill", timeout=180))


def test_several_enclaves_at_once_in_one_process(guest):
    run = guest.run("/bin/ks-demo multi 3 loop", timeout=180)
    assert run.status == 0, str(run)
    assert "multi: 3 enclaves ran at the same time" in run.output, str(run)
    assert len(re.findall(r"multi: enclave \d returned 54321", run.output)) == 3


def test_four_enclaves_from_four_processes_on_four_harts(ks_paths, ks_linux):
    log_dir = ks_paths.build_dir / "test-logs" / "linux_enclaves"
    log_dir.mkdir(parents=True, exist_ok=True)
    with _boot(ks_paths, ks_linux, log_dir, smp=4) as m:
        g = LinuxGuest(m)
        ready = g.wait_ready(timeout=BOOT_TIMEOUT)
        g.wait_prompt()
        run = g.run("/bin/ks-demo procs 4 fibonacci", timeout=300)
        status = g.poweroff()
    assert ready.cpus == 4
    assert run.status == 0, str(run)
    assert len(re.findall(r"procs: process \d \(pid-order\) fibonacci returned 14930352",
                          run.output)) == 4, str(run)
    assert "procs: 4 enclaves ran at the same time" in run.output, str(run)
    assert status == 0


# -- keystone-py run ------------------------------------------------------------------


@pytest.mark.parametrize("retval,status", [(12345, 0), (1, 1)], ids=["right", "wrong"])
def test_keystone_py_run_streams_the_app_and_exits_with_its_status(ks_paths, ks_linux, retval,
                                                                   status):
    res = subprocess.run([sys.executable, "-m", "keystone_py", "-q", "run", "stack", "--retval",
                          str(retval)], cwd=ks_paths.root, capture_output=True, text=True,
                         timeout=600, check=False)
    assert res.returncode == status, res.stdout + res.stderr
    assert "test-runner: stack returned 12345" in res.stdout, res.stdout

"""Every enclave flow of the Linux suites, on zCore as the host OS, on 1 and 4 harts
through /init's prompt; and the demo on 4 harts as zCore's root process (no /init).

zCore (patched by ``zcore_patch/``, its enclave device in patch 0014) boots on our
SM with Keystone's test device key and runs the Linux initramfs's ``/init`` as its
root process, so the same prompt drives it (``run PROG ARGS``) and the same host
binaries run unchanged: ``test-runner`` with Keystone's test list and values,
``ks-demo`` (the demo, preemption, a killed host, the driver refusals, 1,000
create/destroy cycles, switchless ocalls), ``attestor``. The zCore console must never show a kernel
panic (every wait fails at once on one).
"""

from __future__ import annotations

import re

import pytest

from keystone_py.attest import devkey
from keystone_py.qemu import resolve_firmware
from keystone_py.qemu.guest import LinuxGuest
from keystone_py.qemu.zcore import ZCORE_PANIC, zcore_machine

from ..host_checks import (
    KEYSTONE_TESTS,
    SECRET,
    assert_both_ends_agree,
    check_attestation_report,
    check_attestor_report,
    check_kill_gave_everything_back,
    figures,
    parse_calls,
    runner,
)

pytestmark = pytest.mark.zcore

BOOT_TIMEOUT = 240


@pytest.fixture(scope="module", params=[1, 4], ids=["smp1", "smp4"])
def guest(request, ks_paths, zcore_build, zcore_root_image):
    """zCore with /init on 1 or 4 harts, booted once per module and hart count."""
    smp = request.param
    log_dir = ks_paths.build_dir / "test-logs" / "zcore_enclaves" / f"smp{smp}"
    log_dir.mkdir(parents=True, exist_ok=True)
    page = devkey.write_page(log_dir / "device.key", SECRET)
    firmware = resolve_firmware(ks_paths.firmware_choice, ks_paths.artifacts, ks_paths.toolchain)
    machine = zcore_machine(firmware, zcore_build.image, zcore_root_image, ["/bin/init"],
                            smp=smp, extra_args=[*ks_paths.qemu_args, *devkey.qemu_args(page)],
                            log="error", name=f"zcore-enclaves-smp{smp}", log_dir=log_dir)
    with machine as m:
        g = LinuxGuest(m)
        g.wait_ready(timeout=BOOT_TIMEOUT)
        g.wait_prompt()
        yield g
    assert not re.search(ZCORE_PANIC, machine.console_text)


@pytest.mark.parametrize("eapp,retval,lines", KEYSTONE_TESTS, ids=[t[0] for t in KEYSTONE_TESTS])
def test_keystone_test_list_on_zcore(guest, eapp, retval, lines):
    run = runner(guest, eapp, f"--retval {retval}")
    assert run.status == 0, str(run)
    assert "[FAIL]" not in run.output, str(run)
    got = figures(run)
    assert got["value"] == retval
    out = [ln.strip() for ln in run.lines
           if ln.strip() and not ln.startswith(("test-runner:", "# report"))]
    pos = [out.index(want) for want in lines]  # each of Keystone's lines is there ...
    assert pos == sorted(pos), out  # ... in Keystone's order
    if eapp in ("loop", "fibonacci"):
        # The device gives each RUN/RESUME a 1 ms slice: the SM stops a long
        # enclave for zCore many times (at least a few even on a loaded host).
        assert got["interrupts"] >= 5, got
    if eapp == "untrusted":
        assert got["ocalls"] == 5, got


def test_an_enclave_runs_through_fd_666(guest):
    """Every zCore process has the device at fd 666 (the seed design's handle):
    test-runner given ``--device fd:666`` duplicates it instead of opening the node."""
    run = runner(guest, "stack", "--retval 12345 --device fd:666")
    assert run.status == 0, str(run)
    assert figures(run)["value"] == 12345


def test_attestation_report_from_zcore_verifies(guest, ks_paths):
    check_attestation_report(runner(guest, "attestation", "--retval 0"), ks_paths)


def test_attestor_report_for_a_host_chosen_nonce_verifies(guest, ks_paths):
    check_attestor_report(guest.run("/bin/attestor", 300), ks_paths)


def test_bad_ioctls_and_mmaps_get_errnos_and_zcore_keeps_running(guest):
    run = guest.run("/bin/driver-refusals", timeout=180)
    assert run.status == 0, str(run)
    checks = [ln for ln in run.lines if ln.startswith(("PASS", "FAIL"))]
    assert len(checks) >= 25 and all(c.startswith("PASS") for c in checks), str(run)
    assert "an enclave runs afterwards: yes" in run.output
    # zCore still serves: another enclave runs after the refusals.
    after = runner(guest, "stack", "--retval 12345")
    assert after.status == 0, str(after)


def progress(guest: LinuxGuest) -> tuple:
    """``ks-demo progress loop``: (INTERRUPTED stops, the other process's count, the run)."""
    run = guest.run("/bin/ks-demo progress loop", timeout=180)
    m = re.search(r"progress: (\d+) INTERRUPTED stops; the other process counted (\d+)",
                  run.output)
    assert m, str(run)
    return int(m.group(1)), int(m.group(2)), run


def test_a_long_enclave_is_stopped_many_times_for_zcore(guest):
    stops, _, run = progress(guest)
    assert stops >= 5, str(run)


def test_another_process_progresses_while_an_enclave_runs(guest):
    stops, counted, run = progress(guest)
    assert stops >= 5 and counted > 0, str(run)
    assert run.status == 0, str(run)


def test_killing_the_host_mid_enclave_gives_everything_back(guest):
    check_kill_gave_everything_back(guest.run("/bin/ks-demo kill", timeout=240))


def test_a_thousand_create_destroy_cycles_give_back_every_frame_and_slot(guest):
    """zCore's free memory (sysinfo: its frame allocator's free bytes) is the same
    after 1,000 cycles (every 100th with a 5 MiB enclave) as before, to the byte."""
    run = guest.run("/bin/ks-demo cycles 1000 --large-every 100", timeout=900)
    assert run.status == 0, str(run)
    m = re.search(r"^cycles: (\d+) done, failures (\d+), MemFree before (\d+) after (\d+) kB, "
                  r"CmaFree before \d+ after \d+ kB, slots before (\d+) after (\d+)$",
                  run.output, re.M)
    assert m, str(run)
    n, failures, mem0, mem1, slots0, slots1 = (int(g) for g in m.groups())
    assert n == 1000 and failures == 0, m.group(0)
    assert mem0 == mem1 > 0, m.group(0)
    assert slots0 == slots1 > 0, m.group(0)
    print(m.group(0))


def test_the_demo_runs_every_example(guest):
    run = guest.run("/bin/ks-demo all", timeout=600)
    assert run.status == 0, str(run)
    m = re.search(r"^demo: (\d+) examples, (\d+) passed, 0 failed$", run.output, re.M)
    assert m and m.group(1) == m.group(2), str(run)


# -- switchless ocalls: the host's worker thread is a zCore thread ----------------------


def test_switchless_calls_are_answered_by_a_host_worker_thread(guest):
    """On one hart the worker and the enclave take turns (each call waits for the
    worker's turn: about 20 ms), and every call still goes through the ring; on 4
    harts the worker runs beside the enclave."""
    n = 200 if guest.machine.smp == 1 else 2000
    run = guest.run(f"/bin/ks-demo switchless calls {n} 1", timeout=300)
    assert run.status == 0, str(run)
    got = parse_calls(run.output)
    assert got["exit"] == 0, got
    assert_both_ends_agree(got, n)
    assert got["sw"] > 0, got


def test_switchless_calls_without_a_worker_are_ordinary_ocalls(guest):
    n = 200
    run = guest.run(f"/bin/ks-demo switchless calls {n} 0", timeout=300)
    assert run.status == 0, str(run)
    got = parse_calls(run.output)
    assert got["exit"] == 0, got
    assert got["sw"] == got["by_workers"] == 0 and got["ord"] == got["by_loop"] == n, got
    assert got["stops"] == n + 2 and got["lost"] == got["dup"] == 0, got


# -- 4 harts, zCore's root process: the host program is the first process, no /init ----

ROOT_TIMEOUT = 600


def test_the_demo_runs_every_example_as_zcores_root_process_on_4_harts(zcore_guest, ks_paths):
    log_dir = ks_paths.build_dir / "test-logs" / "zcore_enclaves" / "smp4"
    log_dir.mkdir(parents=True, exist_ok=True)
    page = devkey.write_page(log_dir / "device.key", SECRET)
    with zcore_guest(["/bin/ks-demo", "all"], smp=4, extra_args=devkey.qemu_args(page),
                     log="error", name="demo-root") as m:
        found = m.expect(r"demo: (\d+) examples, (\d+) passed, (\d+) failed",
                         fail=[r"\[FAIL\]"], timeout=ROOT_TIMEOUT)
    assert found.group(1) == found.group(2) and found.group(3) == "0", found.group(0)

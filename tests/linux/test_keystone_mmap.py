"""Our host SDK on a driver with Keystone's mmap rule: before FINALIZE,
Keystone's driver (``linux-keystone-driver/keystone.c``) maps at most one EPM
page per mmap and answers EINVAL to a longer mapping. Our driver enforces the
same rule when loaded with ``keystone_mmap=page`` (given on the kernel command
line as ``keystone_driver.keystone_mmap=page``; /init passes it on, as
modprobe would). ``test-runner`` must then still run Keystone's tests to their
values: the SDK sees its whole-EPM mapping refused and copies the files page by
page (``test-runner: EAPP EPM mapped page-by-page``). Without the parameter the
same binary maps the EPM whole; an unknown mode keeps the driver from loading.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from keystone_py.qemu.guest import LinuxGuest, linux_machine

BOOT_TIMEOUT = 180
RUNTIME_ARGS = "/enclave/eyrie-rt /enclave/loader.bin"
EPM_MAPPED = re.compile(r"^test-runner: (\S+) EPM mapped (whole|page-by-page)$", re.M)
RETURNED = re.compile(r"^test-runner: (\S+) returned (\d+) ", re.M)

#: Keystone's tests (docs/abi.md §9) whose files span many pages (long-nop's
#: text, the runtime) and whose hosts serve ocalls through the UTM mapping.
TESTS = [("stack", 12345), ("long-nop", 12345), ("loop", 54321), ("untrusted", 13),
         ("attestation", 0)]


def _log_dir(ks_paths, name: str) -> Path:
    d = ks_paths.build_dir / "test-logs" / "linux_keystone_mmap" / name
    d.mkdir(parents=True, exist_ok=True)
    return d


def _machine(ks_paths, ks_linux, name: str, params: str):
    return linux_machine(ks_linux, firmware="ours", smp=1, memory="512M",
                         toolchain=ks_paths.toolchain, name=name,
                         log_dir=_log_dir(ks_paths, name), append_extra=params,
                         extra_args=list(ks_paths.qemu_args))


@pytest.fixture(scope="module")
def page_guest(ks_paths, ks_linux):
    with _machine(ks_paths, ks_linux, "page", "keystone_driver.keystone_mmap=page") as m:
        g = LinuxGuest(m)
        g.wait_ready(timeout=BOOT_TIMEOUT)
        g.wait_prompt()
        yield g
        assert g.poweroff() == 0


def _run(guest: LinuxGuest, eapp: str, retval: int):
    run = guest.run(f"/bin/test-runner /enclave/{eapp} {RUNTIME_ARGS} --retval {retval}",
                    timeout=300)
    assert run.status == 0 and "[FAIL]" not in run.output, str(run)
    returned = RETURNED.search(run.output)
    mapped = EPM_MAPPED.search(run.output)
    assert returned and mapped, str(run)
    assert int(returned.group(2)) == retval
    return mapped.group(2)


def test_driver_loaded_in_keystones_page_mode(page_guest):
    assert "init: loaded keystone-driver.ko (keystone_mmap=page)" in \
        page_guest.machine.console_text


@pytest.mark.parametrize("eapp,retval", TESTS, ids=[t[0] for t in TESTS])
def test_test_runner_on_the_page_at_a_time_driver(page_guest, eapp, retval):
    assert _run(page_guest, eapp, retval) == "page-by-page"


def test_default_driver_maps_whole_and_bad_mode_is_refused(ks_paths, ks_linux):
    with _machine(ks_paths, ks_linux, "any", "") as m:
        g = LinuxGuest(m)
        g.wait_ready(timeout=BOOT_TIMEOUT)
        g.wait_prompt()
        assert "init: loaded keystone-driver.ko\n" in m.console_text.replace("\r", "")
        assert _run(g, "long-nop", 12345) == "whole"
        assert g.poweroff() == 0
    with _machine(ks_paths, ks_linux, "bogus", "keystone_driver.keystone_mmap=bogus") as m:
        g = LinuxGuest(m)
        g.wait_ready(timeout=BOOT_TIMEOUT)
        g.wait_prompt()
        text = m.console_text
        assert "init: cannot load keystone-driver.ko: Invalid argument" in text, text[-2000:]
        assert g.poweroff() == 0

"""The enclave driver's refusals: `/bin/driver-refusals` (examples/host) feeds
/dev/keystone_enclave every bad ioctl and mmap of keystone_user.h's errno list
(unknown and wrong-size commands, bad pointers and sizes, commands out of
order, another file's enclave, everything after DESTROY) and prints one
`PASS|FAIL <name>: errno <got> (<NAME>), want <want> (<NAME>)` line per check.
Each check is asserted here by name with the errno it must get; then an
enclave still runs and the kernel never oopsed. `ks-demo bad-ioctl` runs the
same checks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

try:  # keystone_py's QEMU package
    from keystone_py.qemu.guest import GuestRun, LinuxGuest, linux_machine
except ImportError:  # the flat layout before it
    from keystone_py.guest import GuestRun, LinuxGuest, linux_machine

BOOT_TIMEOUT = 180

#: Every check of examples/host/src/refusals.rs, in order, with its errno.
CHECKS = [
    ("unknown command", "ENOTTY"),
    ("CREATE with the wrong size", "ENOTTY"),
    ("RUN with the wrong size", "ENOTTY"),
    ("CREATE with an inaccessible argument pointer", "EFAULT"),
    ("CREATE with min_pages 0", "EINVAL"),
    ("CREATE with a huge min_pages", "EINVAL"),
    ("RUN on a file without an enclave", "ENOENT"),
    ("RUN before FINALIZE (no UTM)", "EBADFD"),
    ("FINALIZE before UTM_INIT", "EBADFD"),
    ("CREATE twice on one file", "EEXIST"),
    ("UTM_INIT of 0 bytes", "EINVAL"),
    ("UTM_INIT above the largest UTM", "EINVAL"),
    ("UTM_INIT", "success"),
    ("UTM_INIT twice", "EEXIST"),
    ("RUN before FINALIZE", "EBADFD"),
    ("FINALIZE with addresses outside the EPM", "EINVAL"),
    ("FINALIZE with the eapp before the runtime", "EINVAL"),
    ("mmap past the EPM", "EINVAL"),
    ("DESTROY with an id that is not this file's", "ENOENT"),
    ("RUN of another file's enclave", "ENOENT"),
    ("DESTROY of another file's enclave", "ENOENT"),
    ("FINALIZE twice", "EALREADY"),
    ("RESUME before RUN", "ESRCH"),
    ("the other file's enclave still runs (stack returns 12345)", "success"),
    ("RUN again after it exited", "EALREADY"),
    ("RESUME after it exited", "ESRCH"),
    ("DESTROY", "success"),
    ("RUN after DESTROY", "EBADFD"),
    ("DESTROY twice", "EBADFD"),
]
ERRNO = {"success": 0, "ENOENT": 2, "ESRCH": 3, "EFAULT": 14, "EEXIST": 17, "EINVAL": 22,
         "ENOTTY": 25, "EBADFD": 77, "EALREADY": 114}
LINE = re.compile(r"^(?P<verdict>PASS|FAIL) (?P<name>.+): errno (?P<got>-?\d+) "
                  r"\((?P<got_name>[^)]*)\), want (?P<want>-?\d+) \((?P<want_name>[^)]*)\)$",
                  re.M)
OOPS = re.compile(r"Oops|BUG:|Unable to handle")


def checks_in(run: GuestRun) -> dict:
    """name -> list of that name's result lines (as match objects)."""
    found: dict = {}
    for m in LINE.finditer(run.output):
        found.setdefault(m.group("name"), []).append(m)
    return found


@pytest.fixture(scope="module")
def runs(ks_paths, ks_linux):
    """One guest (1 hart): `driver-refusals`, then `ks-demo bad-ioctl`."""
    log_dir = ks_paths.build_dir / "test-logs" / "driver_refusals"
    log_dir.mkdir(parents=True, exist_ok=True)
    machine = linux_machine(ks_linux, firmware="ours", smp=1, memory="512M",
                            toolchain=ks_paths.toolchain, name="driver-refusals",
                            log_dir=Path(log_dir), extra_args=[*ks_paths.qemu_args])
    with machine as m:
        g = LinuxGuest(m)
        g.wait_ready(timeout=BOOT_TIMEOUT)
        g.wait_prompt()
        out = {"refusals": g.run("/bin/driver-refusals", timeout=120),
               "ks-demo": g.run("/bin/ks-demo bad-ioctl", timeout=120)}
        out["console"] = m.console_text
        assert g.poweroff() == 0
    return out


def test_the_check_list_is_complete_and_has_no_duplicates():
    names = [n for n, _ in CHECKS]
    assert len(names) == 29 and len(set(names)) == 29


@pytest.mark.parametrize("name,errno", CHECKS, ids=[n for n, _ in CHECKS])
def test_each_refusal_gets_its_errno(runs, name, errno):
    lines = checks_in(runs["refusals"]).get(name, [])
    assert len(lines) == 1, f"{name!r}: {len(lines)} result lines\n{runs['refusals']}"
    m = lines[0]
    assert (m.group("want"), m.group("want_name")) == (str(ERRNO[errno]), errno), m.group(0)
    assert m.group("verdict") == "PASS", m.group(0)
    assert (m.group("got"), m.group("got_name")) == (str(ERRNO[errno]), errno), m.group(0)


def test_it_reports_exactly_these_checks_then_an_enclave_runs(runs):
    run = runs["refusals"]
    assert run.status == 0, str(run)
    assert [m.group("name") for m in LINE.finditer(run.output)] == [n for n, _ in CHECKS]
    assert "driver-refusals: 29 checks, 0 failed; an enclave runs afterwards: yes" in run.output


def test_ks_demo_bad_ioctl_runs_the_same_checks(runs):
    run = runs["ks-demo"]
    assert run.status == 0, str(run)
    assert [m.group(0) for m in LINE.finditer(run.output)] == \
        [m.group(0) for m in LINE.finditer(runs["refusals"].output)]
    assert "bad-ioctl: 29 checks, 0 failed; an enclave runs afterwards: yes" in run.output


def test_the_kernel_never_oopsed(runs):
    assert not OOPS.search(runs["console"])

"""A real program no one here wrote, with its own test suite, inside an
enclave: jq 1.8.2 (keystone_py.build.thirdparty: its release sources from the
pinned PyPI sdist, built static for riscv64), its ``jq --run-tests
tests/jq.test`` run twice in one Linux guest: as a plain process, and inside an
enclave through ``ks-run`` (the host SDK's FilePolicy granting the tests
folder read-only). The two pass counts are equal, non-zero and the suite's
total; the wall time of each is logged (never asserted: the CI machine is
shared). Then ``keystone-py run --eapp PROGRAM -- ARGS`` runs jq as a process
and exits with its status."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keystone_py.build import Artifacts
from keystone_py.build.thirdparty import JqBuild, build_jq
from keystone_py.errors import KeystoneError
from keystone_py.qemu import LinuxGuest
from keystone_py.qemu import linux_machine as make_linux_machine
from keystone_py.qemu.userrun import overlay_initramfs

log = logging.getLogger(__name__)

GUEST = "/jq"
PASSED = re.compile(r"^(\d+) of (\d+) tests passed \((\d+) malformed, (\d+) skipped\)$", re.M)
SUITE = f"-L {GUEST}/tests/modules --run-tests {GUEST}/tests/jq.test"


@pytest.fixture(scope="module")
def jq(ks_paths) -> JqBuild:
    try:
        return build_jq(root=ks_paths.root, toolchain=ks_paths.toolchain)
    except KeystoneError as exc:
        pytest.fail(f"jq build failed:\n{exc}", pytrace=False)


@pytest.fixture(scope="module")
def guest(ks_paths, ks_linux, jq, tmp_path_factory):
    files = {f"{GUEST[1:]}/jq": jq.jq}
    files.update({f"{GUEST[1:]}/tests/{p.relative_to(jq.tests)}": p
                  for p in jq.tests.rglob("*") if p.is_file()})
    logs = tmp_path_factory.mktemp("real-program")
    initrd = overlay_initramfs(ks_linux.require("initramfs"), files, logs)
    with make_linux_machine(ks_linux.merged(Artifacts(initramfs=initrd)), memory="512M",
                            append_extra="quiet", log_dir=logs, toolchain=ks_paths.toolchain,
                            name="real-program") as m:
        g = LinuxGuest(m)
        g.wait_ready(timeout=600)
        g.wait_prompt()
        yield g
        assert g.poweroff() == 0


def suite(guest: LinuxGuest, command: str):
    start = time.monotonic()
    run = guest.run(command, 1800)
    seconds = time.monotonic() - start
    found = PASSED.findall(run.output)
    assert len(found) == 1, f"no (or several) `N of M tests passed` lines: {run}"
    passed, total, malformed, skipped = (int(x) for x in found[0])
    return run, passed, total, malformed, seconds


@pytest.fixture(scope="module")
def outside(guest):
    return suite(guest, f"{GUEST}/jq {SUITE}")


@pytest.fixture(scope="module")
def inside(guest, outside):
    return suite(guest, f"/bin/ks-run {GUEST}/jq --allow-read {GUEST} -- {SUITE}")


def test_jq_passes_its_own_suite_as_a_plain_process(outside):
    run, passed, total, malformed, _ = outside
    assert run.status == 0, str(run)
    assert passed == total > 0 and malformed == 0, str(run)


def test_jq_passes_its_own_suite_inside_an_enclave_as_outside(outside, inside):
    run, passed, total, malformed, seconds = inside
    _, out_passed, out_total, _, out_seconds = outside
    log.warning("jq %s: outside the enclave %d of %d passed in %.1f s wall; inside %d of %d "
                "in %.1f s wall", "1.8.2 --run-tests tests/jq.test", out_passed, out_total,
                out_seconds, passed, total, seconds)
    assert run.status == 0, str(run)
    assert (passed, total) == (out_passed, out_total), str(run)
    assert passed == total > 0 and malformed == 0, str(run)


def test_files_the_policy_does_not_grant_are_refused_to_jq(guest):
    """Only the modules folder granted: jq's fopen of the suite gets EACCES."""
    run = guest.run(f"/bin/ks-run {GUEST}/jq --allow-read {GUEST}/tests/modules -- "
                    f"--run-tests {GUEST}/tests/jq.test", 600)
    assert run.status == 1, str(run)
    assert "fopen: Permission denied" in run.lines, str(run)


def test_run_eapp_runs_a_static_linux_program_as_a_process(jq, ks_paths):
    """`keystone-py run --eapp jq --allow-read TESTS -- ARGS`: jq's own suite of
    base64 tests passes in the enclave, and the command's status is jq's
    (then `-e` with a false result: 1)."""
    kp = [sys.executable, "-m", "keystone_py", "run", "--eapp", str(jq.jq)]
    ok = subprocess.run([*kp, "--allow-read", str(jq.tests), "--", "--run-tests",
                         str(jq.tests / "base64.test")], cwd=ks_paths.root, capture_output=True,
                        text=True, timeout=1200)
    m = PASSED.search(ok.stdout)
    assert ok.returncode == 0 and m and m.group(1) == m.group(2) != "0", ok.stdout + ok.stderr
    false = subprocess.run([*kp, "--", "-e", "-n", "false"], cwd=ks_paths.root,
                           capture_output=True, text=True, timeout=1200)
    assert false.returncode == 1, false.stdout + false.stderr
    assert "/bin/ks-run: exit status 1" in false.stdout, false.stdout


def test_run_eapp_refuses_a_dynamically_linked_program(tmp_path, ks_paths):
    dynamic = Path(tmp_path) / "dyn"
    src = Path(tmp_path) / "dyn.c"
    src.write_text("int main(void) { return 0; }\n")
    gcc = ks_paths.toolchain.require("linux-gcc")
    subprocess.run([str(gcc), "-o", str(dynamic), str(src)], check=True)
    r = subprocess.run([sys.executable, "-m", "keystone_py", "run", "--eapp", str(dynamic)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "dynamically linked" in r.stderr, r.stderr

"""Booting the payload: a failure is QEMU's exit status, and `keystone-py boot`
streams the console and exits with it."""

import subprocess
import sys

from keystone_py.contract import SM_BANNER


def test_payload_failure_makes_qemu_exit_non_zero(machine_factory):
    with machine_factory(append="fail", name="fail") as m:
        m.expect(SM_BANNER, timeout=20)
        status = m.wait_exit(timeout=60)
    assert status != 0


def test_boot_command_streams_console_and_exits_with_qemu_status(ks_paths):
    res = subprocess.run([sys.executable, "-m", "keystone_py", "boot", "--timeout", "120"],
                         cwd=ks_paths.root, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "keystone-rs SM v" in res.stdout
    assert "payload: done (passed" in res.stdout
    assert "QEMU exit status 0" in res.stderr

"""GDB across the worlds of one enclave's start with zCore as the host, as
tests/gdb/test_linux.py does for Linux: test-runner's ioctls into zCore's
device (U) → the SM's create handler (M, arguments read through zCore's Sv39
page tables) → the loader at the EPM base (S, paging off) → the runtime (S) →
the eapp's main (U). And ``keystone-py gdb --host zcore``, which boots zCore
halted with test-runner as its root process and names each stop's world."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from keystone_py.build.hostapps import LINUX_USER_TARGET
from keystone_py.gdb.worlds import world_table
from keystone_py.qemu import resolve_firmware
from keystone_py.qemu.guest import LinuxGuest
from keystone_py.qemu.zcore import zcore_machine

from ..gdb.test_linux import check_steps_from_host_ioctl_to_eapp_main

pytestmark = [pytest.mark.zcore, pytest.mark.gdb]

BOOT_TIMEOUT = 240


@pytest.fixture
def zcore_gdb(ks_paths, ks_enclave, zcore_build, zcore_root_image, ks_gdb, ks_log_dir):
    hostapp = ks_paths.build_dir / "target" / LINUX_USER_TARGET / "release" / "test-runner"
    if not hostapp.is_file():
        pytest.skip(f"{hostapp} is not built (keystone-py build linux)")
    fw = resolve_firmware(ks_paths.firmware_choice, ks_paths.artifacts, ks_paths.toolchain)
    m = zcore_machine(fw, zcore_build.image, zcore_root_image, ["/bin/init"], smp=1,
                      extra_args=ks_paths.qemu_args, log="error", gdb=True, name="gdb-zcore",
                      log_dir=ks_log_dir / "gdb-zcore")
    m.launch()
    try:
        worlds = world_table(ks_enclave.sm_elf, zcore_build.elf, hostapp=hostapp,
                             loader=ks_enclave.loader_elf, runtime=ks_enclave.runtime_elf,
                             eapp=ks_enclave.eapp("hello"))
        g = ks_gdb(m, worlds=worlds, timeout=30)
        guest = LinuxGuest(m)
        g.resume()  # boot with GDB attached
        guest.wait_ready(timeout=BOOT_TIMEOUT)
        guest.wait_prompt()
        yield g, guest
    finally:
        m.shutdown()


def test_gdb_steps_from_host_ioctl_to_eapp_main_on_zcore(zcore_gdb):
    check_steps_from_host_ioctl_to_eapp_main(*zcore_gdb)


def test_keystone_py_gdb_host_zcore_names_each_world(ks_paths, zcore_build, ks_enclave):
    """The CLI in batch mode: stop in the SM's create (EPM read through zCore's page
    tables), then the loader at the EPM base, then the runtime, each named by ks-world."""
    argv = [sys.executable, "-m", "keystone_py", "gdb", "--host", "zcore",
            "--break", "loader:_start", "--break", "runtime:rt_main", "--batch",
            "--ex", "continue", "--ex", "ks-world", "--ex", "continue", "--ex", "ks-world"]
    out = subprocess.run(argv, cwd=ks_paths.root, capture_output=True, text=True,
                         timeout=600, check=False)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-3000:]
    create = re.search(r"enclave create, EPM at (0x[0-9a-f]+), UTM at (0x[0-9a-f]+)", text)
    assert create, text[-3000:]
    epm, utm = (int(v, 16) for v in create.groups())
    assert epm >= 0x8000_0000 and epm % 4096 == 0 and utm >= 0x8000_0000, text[-3000:]
    worlds = re.findall(r"^world: (\w+) \(([^)]*)\), pc (0x[0-9a-f]+)$", text, re.M)
    assert [w for w, _, _ in worlds] == ["sm", "loader", "runtime"], worlds
    assert int(worlds[1][2], 16) == epm, (worlds, hex(epm))

"""GDB across the worlds of one enclave's start with Linux as the host: the host
app's ioctl (U) → the SM's create handler (M) → the loader's entry at the EPM
base (S, paging off) → the runtime (S) → the eapp's main (U), checking at each
stop the privilege level and that pc lies in that world's ELF.

The guest boots with GDB attached and running; at /init's prompt GDB stops the
hart, sets a hardware breakpoint on libc's ``ioctl`` in ``test-runner`` (a
static, non-PIE executable: its addresses are its link addresses) and lets the
guest run ``test-runner`` for the hello eapp.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from keystone_py.build.hostapps import LINUX_USER_TARGET
from keystone_py.gdb.worlds import PRIV_M, PRIV_S, PRIV_U, world_table
from keystone_py.qemu.guest import LinuxGuest

BOOT_TIMEOUT = 240
#: docs/abi.md §6.2: the driver's FINALIZE ioctl, the one that makes the SM create.
FINALIZE_ENCLAVE = 0x8050_A406
IOCTLS = {0x8050_A400 + n for n in range(16)}


def _hostapp_elf(ks_paths, app: str = "test-runner") -> Path:
    """The unstripped host app (build/host/<app> is the same file, stripped)."""
    return ks_paths.build_dir / "target" / LINUX_USER_TARGET / "release" / app


@pytest.fixture
def linux_gdb(linux_machine, ks_linux, ks_enclave, ks_paths, ks_gdb):
    art = ks_linux.merged(ks_enclave)
    hostapp = _hostapp_elf(ks_paths)
    if not hostapp.is_file():
        pytest.skip(f"{hostapp} is not built (keystone-py build linux)")
    m = linux_machine(smp=1, gdb=True, memory="512M", name="gdb-linux")
    m.launch()
    worlds = world_table(art.sm_elf, art.vmlinux, hostapp=hostapp, loader=art.loader_elf,
                         runtime=art.runtime_elf, eapp=art.eapp("hello"))
    g = ks_gdb(m, worlds=worlds, timeout=30)
    guest = LinuxGuest(m)
    g.resume()  # boot with GDB attached
    guest.wait_ready(timeout=BOOT_TIMEOUT)
    guest.wait_prompt()
    return g, guest


def check_stop(g, here, world, priv):
    assert here["world"] == world, here
    assert here["priv"] == priv, here
    assert g.worlds[world].contains(here["pc"]), (world, hex(here["pc"]))


def test_gdb_steps_from_host_ioctl_to_eapp_main_on_linux(linux_gdb):
    check_steps_from_host_ioctl_to_eapp_main(*linux_gdb)


def check_steps_from_host_ioctl_to_eapp_main(g, guest):
    """At a host's /init prompt: stop in test-runner's ioctls up to FINALIZE, then
    the SM's create, the loader (physical), the runtime and the eapp's main, each
    in its world and privilege; the run then finishes (also used for zCore)."""
    g.interrupt(timeout=10)
    [ioctl] = g.break_in("hostapp", "ioctl")
    g.resume()
    guest.machine.sendline("run /bin/test-runner /enclave/hello /enclave/eyrie-rt "
                           "/enclave/loader.bin")

    # The host app's ioctls into the driver, up to FINALIZE (the SM's create).
    requests = []
    while True:
        g.wait_stopped(timeout=120)
        here = g.where()
        check_stop(g, here, "hostapp", PRIV_U)
        assert here["pc"] == ioctl
        request = g.read_register("a1") & 0xFFFF_FFFF
        requests.append(request)
        assert g.in_enclave() is False
        if request == FINALIZE_ENCLAVE:
            break
        assert len(requests) < 20, [hex(r) for r in requests]
        g.resume()
    assert requests[0] == 0x8050_A400, [hex(r) for r in requests]  # CREATE first
    assert all(r in IOCTLS for r in requests), [hex(r) for r in requests]
    g.delete_breakpoints()

    [create] = g.break_in("sm", "enclave::create")
    here = g.continue_until_world("sm", timeout=60)
    check_stop(g, here, "sm", PRIV_M)
    assert here["pc"] == create
    # The driver passed its create arguments by kernel virtual address: read
    # them through the kernel's page tables (satp is still the host's: Linux's
    # Sv57 on QEMU's default hart, Sv39 when the hart lacks it; zCore's Sv39).
    assert g.read_register("satp") >> 60 in (8, 9, 10)
    layout = g.capture_enclave()
    assert layout.epm_paddr <= layout.runtime_paddr < layout.epm_paddr + layout.epm_size
    assert layout.epm_paddr <= layout.user_paddr < layout.epm_paddr + layout.epm_size
    assert layout.utm_size > 0
    g.delete_breakpoints()

    link_entry, phys_entry = g.break_in("loader", "_start")
    assert phys_entry == layout.epm_paddr and link_entry == g.worlds["loader"].elf.entry
    here = g.continue_until_world("loader", timeout=60)
    check_stop(g, here, "loader", PRIV_S)
    assert here["pc"] == layout.epm_paddr
    assert g.read_register("satp") == 0
    assert g.in_enclave() is True
    g.delete_breakpoints()

    [rt_main] = g.break_in("runtime", "rt_main")
    here = g.continue_until_world("runtime", timeout=60)
    check_stop(g, here, "runtime", PRIV_S)
    assert here["pc"] == rt_main
    satp = g.read_register("satp")
    root = (satp & ((1 << 44) - 1)) << 12
    assert satp >> 60 == 8
    assert layout.epm_paddr <= root < layout.epm_paddr + layout.epm_size, hex(root)
    g.delete_breakpoints()

    # The eapp's main shares its address range with test-runner's code: stops
    # there in the host app are passed over.
    [main] = g.break_in("eapp", "main")
    here = g.continue_until_world("eapp", timeout=60)
    check_stop(g, here, "eapp", PRIV_U)
    assert here["pc"] == main
    assert g.in_enclave() is True
    g.delete_breakpoints()

    # Let the run finish: the hello eapp still prints and test-runner exits 0.
    g.resume()
    guest.machine.expect(r"hello, world!", timeout=120)
    guest.wait_prompt(timeout=120)

"""A Linux guest on our SM booted once for a test module (the module fixtures'
shared body)."""

from __future__ import annotations

from typing import Iterator

from keystone_py.qemu.guest import LinuxGuest, linux_machine

BOOT_TIMEOUT = 180


def module_guest(ks_paths, ks_linux, *, smp: int, logs: str, name: str) -> Iterator[LinuxGuest]:
    """Boots the guest with `smp` harts (512 MiB, logs under test-logs/`logs`),
    checks it came up with them all, yields it at the prompt, and checks it
    powers off cleanly."""
    log_dir = ks_paths.build_dir / "test-logs" / logs
    log_dir.mkdir(parents=True, exist_ok=True)
    with linux_machine(ks_linux, firmware="ours", smp=smp, memory="512M",
                       toolchain=ks_paths.toolchain, name=name, log_dir=log_dir) as m:
        g = LinuxGuest(m)
        assert g.wait_ready(timeout=BOOT_TIMEOUT).cpus == smp
        g.wait_prompt()
        yield g
        assert g.poweroff() == 0

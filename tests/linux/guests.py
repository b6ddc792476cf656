"""A Linux guest on our SM booted for a test module: the module fixtures' shared
bodies (the stock initramfs on N harts; or one with extra files, on one hart)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, Optional

from keystone_py.attest import devkey
from keystone_py.build import Artifacts
from keystone_py.qemu.guest import LinuxGuest, linux_machine
from keystone_py.qemu.userrun import overlay_initramfs

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


@contextmanager
def overlay_guest(ks_paths, ks_linux, ks_enclave, files: Dict[str, Path], log_dir: Path,
                  device_secret: Optional[bytes] = None) -> Iterator[LinuxGuest]:
    """A 1-hart guest whose initramfs also holds ``files`` (guest path -> file), on
    our SM booted with ``device_secret`` (default: the development secret, which
    sdk/cpp's verifier trusts), at its prompt; it powers off on leaving."""
    initrd = overlay_initramfs(ks_linux.initramfs, files, ks_paths.root / "build" / "run")
    art = Artifacts().update(ks_linux).update(ks_enclave).merged(Artifacts(initramfs=initrd))
    secret = devkey.load_secret(None) if device_secret is None else device_secret
    page = devkey.write_page(log_dir / "device.key", secret)
    with linux_machine(art, memory="512M", append_extra="quiet", log_dir=log_dir / "linux",
                       extra_args=devkey.qemu_args(page), toolchain=ks_paths.toolchain) as m:
        guest = LinuxGuest(m)
        guest.wait_ready(timeout=300)
        guest.wait_prompt()
        yield guest
        guest.poweroff()

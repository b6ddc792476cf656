"""What runs in the Linux guest besides /init and the driver: the host apps (Rust
std, riscv64 Linux) and the enclave files they load.

:func:`guest_files` is the initramfs layout::

    /lib/modules/keystone-driver.ko   loaded by /init at boot (built by .linux)
    /bin/test-runner, /bin/ks-demo    host apps (examples/host)
    /bin/ks-cpp-demo                  the C++ host SDK's (added by .linux from .cppsdk)
    /enclave/loader.bin, /enclave/eyrie-rt, /enclave/<eapp>   enclave files
    /enclave/linux-<name>             Linux programs run as eapps (examples/linux)

Each piece is rebuilt only when its inputs change (stamp files in ``build/``).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Dict, Optional

from ..paths import build_dir, find_root
from ..toolchain import Toolchain
from .cache import Stamp, compute_cache_key
from .cargo import COMMON_INPUTS, EAPPS, ENCLAVE_TARGETS, Builder
from .runner import run_logged

log = logging.getLogger("keystone_py.hostapps")

LINUX_USER_TARGET = "riscv64gc-unknown-linux-gnu"
#: The host-app binaries of examples/host.
HOST_APPS = ("test-runner", "ks-demo", "attestor", "driver-refusals", "ks-files", "files-rs",
             "ks-run", "ks-net", "net-rs")
HOST_APP_INPUTS = ("sdk/abi", "sdk/host", "examples/host")
CARGO_FLAGS = ("build", "--release", "-Z", "build-std=std,panic_abort",
               "--target", LINUX_USER_TARGET)

#: Linux programs (static glibc, no Keystone SDK) run as eapps: folder under
#: examples/linux -> its C sources, built into build/linux-eapps/<name>.
LINUX_EAPPS = {"files": ("files.c",), "sealed": ("sealed.c",), "sealed-other": ("other.c",),
               "paths": ("paths.c",), "net": ("net.c",)}
LINUX_EAPP_FLAGS = ("-static", "-no-pie", "-O2", "-Wall", "-Wextra", "-Werror")

__all__ = ["EAPPS", "HOST_APPS", "LINUX_EAPPS", "LINUX_USER_TARGET", "HostAppsBuilder",
           "build_linux_eapps", "guest_files"]


def build_linux_eapps(root: Path, toolchain: Toolchain) -> Dict[str, Path]:
    """The Linux programs of :data:`LINUX_EAPPS`, compiled with the glibc
    cross compiler when their sources changed: name -> ELF."""
    gcc = toolchain.require("linux-gcc")
    out = build_dir(root) / "linux-eapps"
    out.mkdir(parents=True, exist_ok=True)
    built: Dict[str, Path] = {}
    for name, sources in LINUX_EAPPS.items():
        folder = f"examples/linux/{name}"
        # All of examples/linux: a program may include another's source.
        key = compute_cache_key(root, ("examples/linux",), " ".join(LINUX_EAPP_FLAGS) + str(gcc))
        stamp = Stamp(out / f"{name}.stamp")
        elf = out / name
        if not stamp.fresh(key, [elf]):
            argv = [str(gcc), *LINUX_EAPP_FLAGS, "-o", str(elf),
                    *(str(root / folder / s) for s in sources)]
            run_logged(argv, f"gcc {folder}", build_dir(root) / "logs" / f"linux-eapp-{name}.log")
            stamp.write(key)
        built[name] = elf
    return built


class HostAppsBuilder:
    """cargo for examples/host (riscv64 Linux, static), stripped into build/host/."""

    def __init__(self, root: Optional[Path] = None, toolchain: Optional[Toolchain] = None):
        self.root = Path(root) if root else find_root()
        self.toolchain = toolchain or Toolchain()
        self.out = build_dir(self.root) / "host"
        self.target_dir = build_dir(self.root) / "target"

    def path(self, app: str) -> Path:
        return self.out / app

    def build(self, force: bool = False) -> Dict[str, Path]:
        """The stripped host apps by name, built when stale."""
        self.toolchain.require("linux-gcc")
        key = compute_cache_key(self.root, (*COMMON_INPUTS, *HOST_APP_INPUTS),
                                self.toolchain.rustc_version() + " ".join(CARGO_FLAGS))
        stamp = Stamp(self.out / "apps.stamp")
        outputs = [self.path(a) for a in HOST_APPS]
        if not force and stamp.fresh(key, outputs):
            log.info("host apps: up to date (cache hit)")
            return dict(zip(HOST_APPS, outputs))
        log.info("host apps: building %s (first build compiles std: ~2 min)", ", ".join(HOST_APPS))
        self.out.mkdir(parents=True, exist_ok=True)
        logs = build_dir(self.root) / "logs"
        argv = [str(self.toolchain.cargo), *CARGO_FLAGS, "-p", "host-examples",
                "--target-dir", str(self.target_dir)]
        seconds = run_logged(argv, "cargo build host-examples", logs / "host-apps.log",
                             cwd=self.root, env=self.toolchain.cargo_env())
        log.info("cargo build host-examples done in %.0fs", seconds)
        strip = shutil.which("riscv64-linux-gnu-strip") or "riscv64-linux-gnu-strip"
        for app in HOST_APPS:
            src = self.target_dir / LINUX_USER_TARGET / "release" / app
            run_logged([strip, "-o", self.path(app), src], f"{strip} {src}",
                       logs / "host-apps-strip.log")
        stamp.write(key)
        return dict(zip(HOST_APPS, outputs))


def guest_files(root: Path, toolchain: Toolchain, module: Path) -> Dict[str, Path]:
    """Builds (when stale) the host apps and the enclave files; the initramfs
    entries (guest path -> build-machine path), the driver ``module`` included."""
    apps = HostAppsBuilder(root, toolchain).build()
    art = Builder(root=root, toolchain=toolchain).build(ENCLAVE_TARGETS)
    files: Dict[str, Path] = {f"lib/modules/{module.name}": module}
    files.update({f"bin/{name}": path for name, path in apps.items()})
    files["enclave/loader.bin"] = art.require("loader_bin")
    files["enclave/eyrie-rt"] = art.require("runtime_elf")
    for name in EAPPS:
        files[f"enclave/{name}"] = art.eapp(name)
    for name, path in build_linux_eapps(root, toolchain).items():
        files[f"enclave/linux-{name}"] = path
    return files

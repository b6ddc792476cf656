"""What runs in the Linux guest besides /init: the enclave driver module, the
host apps (Rust std, riscv64 Linux) and the enclave files they load.

:func:`guest_files` is the initramfs layout::

    /lib/modules/keystone-driver.ko   loaded by /init at boot
    /bin/test-runner, /bin/ks-demo    host apps (examples/host)
    /enclave/loader.bin, /enclave/eyrie-rt, /enclave/<eapp>   enclave files

Each piece is rebuilt only when its inputs change (stamp files in ``build/``).
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import time
from pathlib import Path
from typing import Dict, List, Optional

from .build import COMMON_INPUTS, ENCLAVE_TARGETS, TARGETS, Builder, compute_cache_key
from .errors import BuildError
from .paths import build_dir, find_root
from .toolchain import Toolchain

log = logging.getLogger("keystone_py.hostapps")

LINUX_USER_TARGET = "riscv64gc-unknown-linux-gnu"
#: The host-app binaries of examples/host.
HOST_APPS = ("test-runner", "ks-demo", "attestor")
HOST_APP_INPUTS = ("sdk/abi", "sdk/host", "examples/host")
DRIVER_INPUTS = ("linux_host/driver", "sdk/abi/include")
DRIVER_NAME = "keystone-driver.ko"
CARGO_FLAGS = ("build", "--release", "-Z", "build-std=std,panic_abort",
               "--target", LINUX_USER_TARGET)
#: Eapps copied into the guest: every eapp target, by its bin name.
EAPPS = tuple(TARGETS[t].bin for t in ENCLAVE_TARGETS if t.startswith("eapp_"))


def _stamp_ok(stamp: Path, key: str, outputs: List[Path]) -> bool:
    try:
        return json.loads(stamp.read_text()).get("key") == key and all(p.is_file() for p in outputs)
    except (OSError, ValueError):
        return False


def _write_stamp(stamp: Path, key: str) -> None:
    stamp.write_text(json.dumps({"key": key, "built": time.time()}) + "\n")


def _run(argv: List[str], what: str, log_path: Path, **kwargs) -> None:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with open(log_path, "w") as logf:
        logf.write("$ " + " ".join(argv) + "\n")
        logf.flush()
        rc = subprocess.run(argv, stdout=logf, stderr=subprocess.STDOUT, check=False,
                            **kwargs).returncode
    if rc != 0:
        tail = log_path.read_text(errors="replace").splitlines()[-30:]
        raise BuildError(f"{what} failed (exit {rc}). Last lines:\n"
                         + "\n".join(f"    {x}" for x in tail) + f"\nFull log: {log_path}")
    log.info("%s done in %.0fs", what, time.monotonic() - start)


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
        self.toolchain.require("linux-gcc")
        key = compute_cache_key(self.root, (*COMMON_INPUTS, *HOST_APP_INPUTS),
                                self.toolchain.rustc_version() + " ".join(CARGO_FLAGS))
        stamp = self.out / "apps.stamp"
        outputs = [self.path(a) for a in HOST_APPS]
        if not force and _stamp_ok(stamp, key, outputs):
            log.info("host apps: up to date (cache hit)")
            return dict(zip(HOST_APPS, outputs))
        log.info("host apps: building %s (first build compiles std: ~2 min)", ", ".join(HOST_APPS))
        self.out.mkdir(parents=True, exist_ok=True)
        argv = [str(self.toolchain.cargo), *CARGO_FLAGS, "-p", "host-examples",
                "--target-dir", str(self.target_dir)]
        _run(argv, "cargo build host-examples", build_dir(self.root) / "logs" / "host-apps.log",
             cwd=self.root, env=self.toolchain.cargo_env())
        strip = shutil.which("riscv64-linux-gnu-strip") or "riscv64-linux-gnu-strip"
        for app in HOST_APPS:
            src = self.target_dir / LINUX_USER_TARGET / "release" / app
            dst = self.path(app)
            res = subprocess.run([strip, "-o", str(dst), str(src)], capture_output=True,
                                 text=True, check=False)
            if res.returncode != 0:
                raise BuildError(f"{strip} {src} failed: {res.stderr.strip()}")
        _write_stamp(stamp, key)
        return dict(zip(HOST_APPS, outputs))


class DriverBuilder:
    """The out-of-tree kernel module, built in a copy under build/linux/driver
    (the source folder stays clean) against the kernel build in build/linux/obj."""

    def __init__(self, linux, root: Optional[Path] = None):
        self.linux = linux  # a LinuxBuilder whose kernel is built
        self.root = Path(root) if root else linux.root
        self.work = linux.dir / "driver"
        self.module = linux.dir / DRIVER_NAME

    def build(self, kernel_key: str, force: bool = False) -> Path:
        key = compute_cache_key(self.root, DRIVER_INPUTS, kernel_key)
        stamp = self.linux.dir / "driver.stamp"
        if not force and _stamp_ok(stamp, key, [self.module]):
            log.info("driver: up to date (cache hit)")
            return self.module
        obj = self.linux.obj
        if not (obj / "Module.symvers").is_file() or not (obj / "scripts" / "module.lds").is_file():
            # A kernel built before modules were part of the build: modpost only.
            self.linux._make(["modules"])
        if self.work.exists():
            shutil.rmtree(self.work)
        shutil.copytree(self.root / "linux_host" / "driver", self.work,
                        ignore=shutil.ignore_patterns("*.o", "*.ko", ".*.cmd", "*.mod*"))
        argv = self.linux._kmake([f"M={self.work}", "modules",
                                  f"KEYSTONE_INCLUDE={self.root / 'sdk' / 'abi' / 'include'}"])
        _run(argv, "driver build", self.linux.dir / "driver.log")
        shutil.copy2(self.work / DRIVER_NAME, self.module)
        _write_stamp(stamp, key)
        return self.module


def guest_files(root: Path, toolchain: Toolchain, module: Path) -> Dict[str, Path]:
    """Builds (when stale) the host apps and the enclave files; the initramfs
    entries (guest path -> build-machine path), the driver module included."""
    apps = HostAppsBuilder(root, toolchain).build()
    art = Builder(root=root, toolchain=toolchain).build(ENCLAVE_TARGETS)
    files: Dict[str, Path] = {f"lib/modules/{DRIVER_NAME}": module}
    files.update({f"bin/{name}": path for name, path in apps.items()})
    files["enclave/loader.bin"] = Path(art["loader_bin"])
    files["enclave/eyrie-rt"] = Path(art["runtime_elf"])
    for name in EAPPS:
        files[f"enclave/{name}"] = Path(art[f"eapp_{name.replace('-', '_')}_elf"])
    return files



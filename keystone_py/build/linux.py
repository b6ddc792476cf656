"""The Linux host: Debian's linux-source-6.1 built for QEMU virt, plus the
initramfs with our static ``/init``, both cached in ``build/linux``.

``keystone-py build linux`` comes here. The source tarball is unpacked once;
the kernel is configured as ``tinyconfig`` + ``linux_host/kernel.config`` and
rebuilt only when the fragment, the tarball or the cross compiler changes. The
enclave driver (``linux_host/driver``) is built here too, as an out-of-tree
module against that kernel; the initramfs carries it with the host apps and the
enclave files (:mod:`.hostapps`).
"""

from __future__ import annotations

import logging
import os
import shutil
import tarfile
import time
from pathlib import Path
from typing import Dict, List, Optional

from ..errors import BuildError
from ..paths import build_dir, find_root
from ..toolchain import LINUX_TARBALL, Toolchain, first_line
from .artifacts import Artifacts
from .cache import Stamp, compute_cache_key, digest
from .cppsdk import cpp_guest_files
from .hostapps import guest_files
from .initramfs import base_image
from .runner import run_logged

log = logging.getLogger("keystone_py.linux")

CROSS = "riscv64-linux-gnu-"
DRIVER_INPUTS = ("linux_host/driver", "sdk/abi/include")
DRIVER_NAME = "keystone-driver.ko"


class LinuxBuilder:
    """Builds the kernel image, vmlinux, /init and the initramfs."""

    def __init__(self, root: Optional[Path] = None, toolchain: Optional[Toolchain] = None,
                 tarball: Path = LINUX_TARBALL):
        self.root = Path(root) if root else find_root()
        self.toolchain = toolchain or Toolchain()
        self.tarball = Path(tarball)
        self.dir = build_dir(self.root) / "linux"
        self.src = self.dir / "linux-source-6.1"
        self.obj = self.dir / "obj"
        self.fragment = self.root / "linux_host" / "kernel.config"
        self.init_src = self.root / "linux_host" / "init" / "init.c"

    # -- outputs ------------------------------------------------------------------
    @property
    def image(self) -> Path:
        return self.dir / "Image"

    @property
    def vmlinux(self) -> Path:
        return self.dir / "vmlinux"

    @property
    def init(self) -> Path:
        return self.dir / "init"

    @property
    def initramfs(self) -> Path:
        return self.dir / "initramfs.cpio"

    @property
    def driver(self) -> Path:
        return self.dir / DRIVER_NAME

    def artifacts(self) -> Artifacts:
        """The Linux artifacts that exist."""
        def found(path: Path) -> Optional[Path]:
            return path.resolve() if path.is_file() else None

        return Artifacts(linux_image=found(self.image), vmlinux=found(self.vmlinux),
                         init=found(self.init), initramfs=found(self.initramfs),
                         driver=found(self.driver))

    # -- cache ----------------------------------------------------------------------
    def _gcc_version(self) -> str:
        gcc = self.toolchain.require("linux-gcc")
        return first_line([gcc, "--version"])

    def kernel_key(self) -> str:
        """The fragment, the tarball (by path, size and time: it is 130 MB) and the
        cross compiler."""
        st = self.tarball.stat()
        return digest(self.fragment.read_bytes(),
                      f"{self.tarball}:{st.st_size}:{int(st.st_mtime)}", self._gcc_version())

    def stamp(self, name: str) -> Stamp:
        """``build/linux/<name>.stamp`` (kernel, init, driver, source)."""
        return Stamp(self.dir / f"{name}.stamp")

    # -- steps ------------------------------------------------------------------------
    def build(self, force: bool = False, guest: bool = True) -> Artifacts:
        """Kernel (if stale), /init and initramfs (if stale); returns the artifacts.
        With ``guest`` (the default) the initramfs also carries the enclave
        driver, the host apps and the enclave files (see :mod:`.hostapps`)."""
        self._require_source()
        self.dir.mkdir(parents=True, exist_ok=True)
        key = self.kernel_key()
        if not force and self.stamp("kernel").fresh(key, [self.image, self.vmlinux]):
            log.info("linux: up to date (cache hit)")
        else:
            self._unpack()
            self._configure()
            self._make(["Image", "modules"])
            shutil.copy2(self.obj / "arch" / "riscv" / "boot" / "Image", self.image)
            shutil.copy2(self.obj / "vmlinux", self.vmlinux)
            self.stamp("kernel").write(key)
        extra = None
        if guest:
            module = self.build_driver(key, force)
            extra = guest_files(self.root, self.toolchain, module)
            extra.update(cpp_guest_files(self.root, self.toolchain))
        self.build_initramfs(force, extra=extra)
        return self.artifacts()

    def build_initramfs(self, force: bool = False, extra: Optional[Dict[str, Path]] = None,
                        out: Optional[Path] = None) -> Path:
        """Compiles /init and packs it (plus ``extra`` files: guest path -> host path)."""
        gcc = self.toolchain.require("linux-gcc")
        self.toolchain.require("linux-libc")
        init_key = digest(self.init_src.read_bytes(), self._gcc_version())
        if force or not self.stamp("init").fresh(init_key, [self.init]):
            self.dir.mkdir(parents=True, exist_ok=True)
            run_logged([gcc, "-static", "-O2", "-Wall", "-Wextra", "-Werror",
                        "-o", self.init, self.init_src], "compiling /init", self.dir / "init.log")
            self.stamp("init").write(init_key)
            log.info("linux: /init -> %s", self.init)
        image = base_image(self.init)
        dirs = {e.name for e in image.entries}
        for guest, host in (extra or {}).items():
            parts = guest.strip("/").split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in dirs:
                    image.directory(d)
                    dirs.add(d)
            image.file_from(guest, host)
        path = Path(out or self.initramfs)
        data = image.to_bytes()
        if not force and path.is_file() and path.read_bytes() == data:
            log.debug("linux: initramfs %s unchanged", path)
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        log.info("linux: initramfs -> %s (%d bytes)", path, len(data))
        return path

    #: doctor checks the kernel build needs (each names its Debian package).
    BUILD_TOOLS = ("linux-source", "make", "host-gcc", "host-libc", "bc", "flex", "bison",
                   "openssl-headers", "linux-gcc")

    def _require_source(self) -> None:
        """Every tool of the kernel build is there, or one error naming every package."""
        if self.tarball != LINUX_TARBALL:  # a tarball given outright
            if not self.tarball.is_file():
                raise BuildError(f"the Linux source {self.tarball} is missing.")
            names = [n for n in self.BUILD_TOOLS if n != "linux-source"]
        else:
            names = list(self.BUILD_TOOLS)
        missing = [self.toolchain.status(n) for n in names if not self.toolchain.status(n).ok]
        if missing:
            pkgs = []
            for st in missing:
                pkgs.extend(p for p in st.packages if p not in pkgs)
            raise BuildError(
                "building Linux needs " + "; ".join(f"{st.name} ({st.problem})" for st in missing)
                + f".\nFix: apt-get install {' '.join(pkgs)}  (or `keystone-py setup`)")

    def _unpack(self) -> None:
        marker = self.stamp("source")
        want = f"{self.tarball}:{self.tarball.stat().st_size}"
        if marker.fresh(want, [self.src]):
            return
        log.info("linux: unpacking %s (once, ~20 s)", self.tarball)
        if self.src.exists():
            shutil.rmtree(self.src)
        try:
            import lzma  # noqa: F401 - tarfile needs it for .xz
        except ImportError:  # a Python built without liblzma: let tar(1) do it
            self._run(["tar", "-xf", str(self.tarball), "-C", str(self.dir)], "unpack")
        else:
            with tarfile.open(self.tarball) as tar:
                if hasattr(tarfile, "fully_trusted_filter"):
                    tar.extractall(self.dir, filter="fully_trusted")
                else:  # Python < 3.11.4
                    tar.extractall(self.dir)
        marker.write(want)

    def _kmake(self, targets: List[str], quiet: bool = True) -> List[str]:
        jobs = str(os.cpu_count() or 2)
        return ["make", "-C", str(self.src), f"O={self.obj}", "ARCH=riscv",
                f"CROSS_COMPILE={CROSS}", f"-j{jobs}", *targets]

    def _run(self, argv: List[str], what: str, log_name: Optional[str] = None) -> None:
        start = time.monotonic()
        count = 0

        def progress(_line: str) -> None:
            nonlocal count
            count += 1
            if count % 200 == 0:
                log.info("linux: %s ... %d steps, %.0fs", what, count, time.monotonic() - start)

        seconds = run_logged(argv, f"linux {what}", self.dir / f"{log_name or what}.log",
                             on_line=progress)
        log.info("linux: %s done in %.0fs", what, seconds)

    def _configure(self) -> None:
        self.obj.mkdir(parents=True, exist_ok=True)
        self._run(self._kmake(["tinyconfig"]), "tinyconfig")
        merge = self.src / "scripts" / "kconfig" / "merge_config.sh"
        self._run([str(merge), "-m", "-O", str(self.obj), str(self.obj / ".config"),
                   str(self.fragment)], "merge-config")
        self._run(self._kmake(["olddefconfig"]), "olddefconfig")
        self._check_config()

    def _check_config(self) -> None:
        """Every option the fragment sets must survive olddefconfig."""
        config = (self.obj / ".config").read_text()
        lost = []
        for line in self.fragment.read_text().splitlines():
            line = line.strip()
            if line.startswith("CONFIG_") and "=" in line and line not in config:
                lost.append(line)
        if lost:
            raise BuildError("the kernel config dropped options of linux_host/kernel.config "
                             "(missing dependencies?): " + ", ".join(lost))

    def _make(self, targets: List[str]) -> None:
        log.info("linux: building %s (about 2-4 minutes on 2 cores)", " ".join(targets))
        self._run(self._kmake(targets), "make")

    def build_driver(self, kernel_key: str, force: bool = False) -> Path:
        """The out-of-tree enclave driver, built in a copy under build/linux/driver
        (the source folder stays clean) against the kernel build in build/linux/obj."""
        work = self.dir / "driver"
        key = compute_cache_key(self.root, DRIVER_INPUTS, kernel_key)
        stamp = self.stamp("driver")
        if not force and stamp.fresh(key, [self.driver]):
            log.info("driver: up to date (cache hit)")
            return self.driver
        if not (self.obj / "Module.symvers").is_file() or \
                not (self.obj / "scripts" / "module.lds").is_file():
            # A kernel built before modules were part of the build: modpost only.
            self._make(["modules"])
        if work.exists():
            shutil.rmtree(work)
        shutil.copytree(self.root / "linux_host" / "driver", work,
                        ignore=shutil.ignore_patterns("*.o", "*.ko", ".*.cmd", "*.mod*"))
        self._run(self._kmake([f"M={work}", "modules",
                               f"KEYSTONE_INCLUDE={self.root / 'sdk' / 'abi' / 'include'}"]),
                  "driver build", log_name="driver")
        shutil.copy2(work / DRIVER_NAME, self.driver)
        stamp.write(key)
        return self.driver

"""The Linux host: Debian's linux-source-6.1 built for QEMU virt, plus the
initramfs with our static ``/init``, both cached in ``build/linux``.

``keystone-py build linux`` comes here. The source tarball is unpacked once;
the kernel is configured as ``tinyconfig`` + ``linux_host/kernel.config`` and
rebuilt only when the fragment, the tarball or the cross compiler changes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import tarfile
import time
from collections import deque
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from .errors import BuildError
from .initramfs import base_image
from .paths import build_dir, find_root
from .toolchain import LINUX_TARBALL, Toolchain

log = logging.getLogger("keystone_py.linux")

#: Debian's kernel source (package linux-source-6.1).
CROSS = "riscv64-linux-gnu-"


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

    def artifacts(self) -> Dict[str, str]:
        """Absolute paths of the Linux artifacts that exist, by name."""
        out = {}
        for key, path in (("linux_image", self.image), ("vmlinux", self.vmlinux),
                          ("init", self.init), ("initramfs", self.initramfs),
                          ("driver", self.driver)):
            if path.is_file():
                out[key] = str(path.resolve())
        return out

    # -- cache ----------------------------------------------------------------------
    def _gcc_version(self) -> str:
        gcc = self.toolchain.require("linux-gcc")
        return subprocess.run([str(gcc), "--version"], capture_output=True, text=True,
                              check=False).stdout.splitlines()[0:1][0]

    def kernel_key(self) -> str:
        st = self.tarball.stat()
        h = hashlib.sha256()
        h.update(self.fragment.read_bytes())
        h.update(f"{self.tarball}:{st.st_size}:{int(st.st_mtime)}".encode())
        h.update(self._gcc_version().encode())
        return h.hexdigest()

    def _stamp_ok(self, name: str, key: str, outputs: Sequence[Path]) -> bool:
        try:
            stamp = json.loads((self.dir / f"{name}.stamp").read_text())
        except (OSError, ValueError):
            return False
        return stamp.get("key") == key and all(p.is_file() for p in outputs)

    def _write_stamp(self, name: str, key: str) -> None:
        (self.dir / f"{name}.stamp").write_text(json.dumps({"key": key, "built": time.time()}))

    # -- steps ------------------------------------------------------------------------
    @property
    def driver(self) -> Path:
        return self.dir / "keystone-driver.ko"

    def build(self, force: bool = False, guest: bool = True) -> Dict[str, str]:
        """Kernel (if stale), /init and initramfs (if stale); returns the artifacts.
        With ``guest`` (the default) the initramfs also carries the enclave
        driver, the host apps and the enclave files (see :mod:`.hostapps`)."""
        self._require_source()
        self.dir.mkdir(parents=True, exist_ok=True)
        key = self.kernel_key()
        if not force and self._stamp_ok("kernel", key, [self.image, self.vmlinux]):
            log.info("linux: up to date (cache hit)")
        else:
            self._unpack()
            self._configure()
            self._make(["Image", "modules"])
            shutil.copy2(self.obj / "arch" / "riscv" / "boot" / "Image", self.image)
            shutil.copy2(self.obj / "vmlinux", self.vmlinux)
            self._write_stamp("kernel", key)
        extra = None
        if guest:
            from .hostapps import DriverBuilder, guest_files
            module = DriverBuilder(self).build(key, force)
            extra = guest_files(self.root, self.toolchain, module)
        self.build_initramfs(force, extra=extra)
        return self.artifacts()

    def build_initramfs(self, force: bool = False, extra: Optional[Dict[str, Path]] = None,
                        out: Optional[Path] = None) -> Path:
        """Compiles /init and packs it (plus ``extra`` files: guest path -> host path)."""
        gcc = self.toolchain.require("linux-gcc")
        self.toolchain.require("linux-libc")
        init_key = hashlib.sha256(self.init_src.read_bytes() +
                                  self._gcc_version().encode()).hexdigest()
        if force or not self._stamp_ok("init", init_key, [self.init]):
            self.dir.mkdir(parents=True, exist_ok=True)
            argv = [str(gcc), "-static", "-O2", "-Wall", "-Wextra", "-Werror",
                    "-o", str(self.init), str(self.init_src)]
            res = subprocess.run(argv, capture_output=True, text=True, check=False)
            if res.returncode != 0:
                raise BuildError(f"compiling /init failed:\n{res.stderr.strip()}\n"
                                 f"command: {' '.join(argv)}")
            self._write_stamp("init", init_key)
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
        marker = self.dir / "source.stamp"
        want = f"{self.tarball}:{self.tarball.stat().st_size}"
        if self.src.is_dir() and marker.is_file() and marker.read_text() == want:
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
        marker.write_text(want)

    def _kmake(self, targets: List[str], quiet: bool = True) -> List[str]:
        jobs = str(os.cpu_count() or 2)
        return ["make", "-C", str(self.src), f"O={self.obj}", "ARCH=riscv",
                f"CROSS_COMPILE={CROSS}", f"-j{jobs}", *targets]

    def _run(self, argv: List[str], what: str) -> None:
        log_path = self.dir / f"{what}.log"
        tail: deque = deque(maxlen=30)
        start = time.monotonic()
        count = 0
        with open(log_path, "w") as logf:
            logf.write("$ " + " ".join(argv) + "\n")
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, errors="replace")
            assert proc.stdout is not None
            for line in proc.stdout:
                logf.write(line)
                tail.append(line.rstrip())
                count += 1
                if count % 200 == 0:
                    log.info("linux: %s ... %d steps, %.0fs", what, count,
                             time.monotonic() - start)
            rc = proc.wait()
        if rc != 0:
            raise BuildError(f"linux {what} failed (exit {rc}). Last lines:\n"
                             + "\n".join(f"    {x}" for x in tail) + f"\nFull log: {log_path}")
        log.info("linux: %s done in %.0fs", what, time.monotonic() - start)

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

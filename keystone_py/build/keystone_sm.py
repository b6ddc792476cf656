"""Keystone's own C security monitor, built from its sources, for the bench's
live Keystone column (``keystone-py bench``).

Nothing of Keystone or OpenSBI is in this repository: the sources come from
outside, each by an environment variable (or the bench's flags):

* ``KEYSTONE_SOURCES`` – Keystone's monorepo, a tree (``keystone/`` or the
  folder itself holding ``sm/`` and ``bootrom/``) or its ``keystone-*.tar.gz``
  (unpacked once under ``build/keystone-src/``, where the Keystone-stack tests
  unpack it too);
* ``KEYSTONE_OPENSBI_SOURCES`` – OpenSBI v1.1 (the version Keystone pins), a
  tree (``opensbi/`` or the folder itself) or its ``opensbi-*.tar.gz``
  (unpacked once under ``build/opensbi-src/``).

The Makefile defaults both to the project machines' vendor folders when they
exist. From them, under ``build/keystone-sm/``:

* **the SM**: a copy of OpenSBI's tree with Keystone's OpenSBI patches
  (``overlays/keystone/patches/opensbi/*.patch``) applied, made as Keystone's
  build makes it (``PLATFORM_DIR=<keystone>/sm/plat``, ``KEYSTONE_SM=...``),
  giving ``fw_jump.bin`` (the SM inside OpenSBI, jumping to 0x80200000);
* **the boot ROM**: Keystone's ``bootrom/`` sources compiled unchanged, with
  its Makefile's flags, but linked by a script of ours at 0x2000 inside QEMU's
  mask ROM (stock QEMU 7.2 cannot replace its reset vector at 0x1000), with
  its ``_dtb`` at the address QEMU's reset vector hands the firmware (read
  from the vector's data word at 0x1020 of a halted QEMU of the same memory
  size). It measures the SM region, derives the SM's keys from Keystone's
  test device key (``bootrom/test_dev_key.h``, compiled in by Keystone's own
  ``use_test_keys.h``) and writes them at 0x801ff000, as the SM expects.
  Every hart starts in it: :meth:`KeystoneFirmware.qemu_args`.

Both are cached: rebuilt only when the sources (an archive's sha256 or a
digest of the files used), this recipe, the cross compiler or the FDT
address change.
"""

from __future__ import annotations

import inspect
import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

from ..errors import KeystoneError
from .cache import Stamp, compute_cache_key, digest, extract_tar, file_sha256
from .runner import run_logged

log = logging.getLogger("keystone_py.build.keystone_sm")

KEYSTONE_ENV = "KEYSTONE_SOURCES"
OPENSBI_ENV = "KEYSTONE_OPENSBI_SOURCES"
#: Beside an unpacked archive's tree: the archive's sha256 (the tests' layout).
ARCHIVE_SHA256 = "archive.sha256"
CROSS = "riscv64-linux-gnu-"
#: Where the boot ROM's code is linked and every hart starts: inside QEMU
#: virt's mask ROM (0x1000..0x10000), after the reset vector and its data.
BOOTROM_ADDR = 0x2000
#: The end of QEMU virt's mask ROM: the boot ROM must end before it.
MROM_END = 0x10000
#: Keystone's bootrom/Makefile CFLAGS (a firmware-like build of its sources).
BOOTROM_CFLAGS = ("-mcmodel=medany", "-nostdlib", "-nostartfiles", "-fno-common", "-std=gnu11",
                  "-static", "-fPIC", "-O2", "-Wall")
#: The OpenSBI build Keystone's SM needs (beside PLATFORM_DIR/KEYSTONE_SM/KEYSTONE_SDK_DIR).
OPENSBI_MAKE = ("PLATFORM=generic", "PLATFORM_RISCV_XLEN=64", "KEYSTONE_PLATFORM=generic",
                "PLATFORM_RISCV_TOOLCHAIN_DEFAULT=1", "FW_PAYLOAD=n", f"CROSS_COMPILE={CROSS}")
#: Keystone's parts the SM build reads (a tree's digest covers these).
KEYSTONE_PARTS = ("sm", "bootrom", "sdk/include", "overlays/keystone/patches/opensbi")


class KeystoneSourcesMissing(KeystoneError):
    """Keystone's or OpenSBI's sources are not given (or not where they are said to be)."""


@dataclass(frozen=True)
class KeystoneSmSources:
    """Keystone's tree and OpenSBI's tree, with what identifies each."""

    keystone: Path
    opensbi: Path
    keystone_id: str
    opensbi_id: str


@dataclass(frozen=True)
class KeystoneFirmware:
    """Keystone's SM in OpenSBI (``fw_jump``) and its boot ROM, built."""

    fw_jump: Path
    bootrom: Path
    #: The FDT address the boot ROM hands the SM (QEMU's, for ``memory``).
    fdt_addr: int
    memory: str
    #: What it was built from (archive sha256s or tree digests).
    source: str

    def qemu_args(self, smp: int) -> List[str]:
        """QEMU arguments that put the boot ROM at 0x2000 and start every hart
        there (with ``-bios fw_jump``): Keystone's boot flow on stock QEMU."""
        args = ["-device", f"loader,file={self.bootrom},addr={BOOTROM_ADDR:#x},force-raw=on"]
        for hart in range(smp):
            args += ["-device", f"loader,addr={BOOTROM_ADDR:#x},cpu-num={hart}"]
        return args


def _unpack(archive: Path, dest_root: Path) -> Path:
    """``archive`` unpacked once under ``dest_root/<sha256[:16]>`` (refusing
    members outside it); the folder, with the archive's sha256 beside the tree."""
    sha256 = file_sha256(archive)
    dest = dest_root / sha256[:16]
    if (dest / ARCHIVE_SHA256).is_file():
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    try:
        extract_tar(archive, dest)
    except ValueError as exc:
        raise KeystoneError(str(exc)) from exc
    (dest / ARCHIVE_SHA256).write_text(sha256 + "\n")
    return dest


def _find_tree(env: str, given: Optional[Path], name: str, marker: str, glob: str,
               unpack_root: Path, what: str) -> Path:
    """The tree holding ``marker``: ``given`` (or ``$env``) itself, its ``name/``,
    or its newest ``glob`` archive unpacked under ``unpack_root``."""
    if given is None:
        value = os.environ.get(env)
        if not value:
            raise KeystoneSourcesMissing(
                f"{env} is not set: it names the folder of {what} (its tree or archive)")
        given = Path(value)
    folder = Path(given).expanduser().resolve()
    for cand in (folder / name, folder):
        if (cand / marker).is_file():
            return cand
    archives = sorted(folder.glob(glob)) if folder.is_dir() else []
    if archives:
        base = _unpack(archives[-1], unpack_root)
        for cand in (base / name, base):
            if (cand / marker).is_file():
                return cand
    raise KeystoneSourcesMissing(f"{folder}: neither {what}'s tree ({marker}) nor a {glob}")


def _source_id(tree: Path, parts: Tuple[str, ...]) -> str:
    recorded = tree.parent / ARCHIVE_SHA256
    if recorded.is_file():
        return "archive " + recorded.read_text().strip()
    return "tree " + compute_cache_key(tree, parts)


def find_sources(root: Path, keystone: Optional[Path] = None,
                 opensbi: Optional[Path] = None) -> KeystoneSmSources:
    """Keystone's and OpenSBI's trees from the arguments or ``$KEYSTONE_SOURCES``
    and ``$KEYSTONE_OPENSBI_SOURCES``; KeystoneSourcesMissing says what is missing."""
    ks = _find_tree(KEYSTONE_ENV, keystone, "keystone", "sm/src/sm.c", "keystone-*.tar.gz",
                    root / "build" / "keystone-src", "Keystone's sources")
    if not (ks / "bootrom" / "bootloader.c").is_file():
        raise KeystoneSourcesMissing(f"{ks}: Keystone's tree has no bootrom/bootloader.c")
    sbi = _find_tree(OPENSBI_ENV, opensbi, "opensbi", "firmware/fw_jump.S", "opensbi-*.tar.gz",
                     root / "build" / "opensbi-src", "OpenSBI v1.1's sources")
    return KeystoneSmSources(keystone=ks, opensbi=sbi, keystone_id=_source_id(ks, KEYSTONE_PARTS),
                             opensbi_id=_source_id(sbi, (".",)))


def qemu_fdt_address(qemu: Path, memory: str = "256M") -> int:
    """The FDT address QEMU virt's reset vector hands the firmware in a1 (its
    data word at 0x1020), read from a halted QEMU through its monitor."""
    try:
        out = subprocess.run([str(qemu), "-M", "virt", "-m", memory, "-display", "none",
                              "-serial", "none", "-monitor", "stdio", "-S", "-nodefaults"],
                             input="xp /2gx 0x1018\nquit\n", capture_output=True, text=True,
                             timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise KeystoneError(f"cannot ask {qemu} for its FDT address: {exc}") from exc
    found = re.search(r"0+1018: 0x([0-9a-f]+) 0x([0-9a-f]+)", out)
    if not found:
        raise KeystoneError(f"{qemu} did not show its reset vector's data at 0x1018: "
                            f"{out[-300:]!r}")
    return int(found.group(2), 16)


#: Our linker script for Keystone's boot ROM: its code at BOOTROM_ADDR, its
#: ``_dtb`` at QEMU's FDT, Keystone's key layout from its sanctum_params.lds.
BOOTROM_LDS = """\
OUTPUT_ARCH(riscv)
ENTRY(_entry)
SECTIONS
{{
  . = {addr:#x};
  .text : {{ PROVIDE(_entry = .); *(.reset) *(*) }}
  PROVIDE(_dtb = {fdt:#x});
}}
INCLUDE sanctum_params.lds
"""


class KeystoneSmBuilder:
    """Builds Keystone's SM (in OpenSBI's fw_jump) and its boot ROM under
    ``build/keystone-sm``; see the module's doc."""

    def __init__(self, root: Path, sources: KeystoneSmSources, qemu: Path,
                 memory: str = "256M"):
        self.root = Path(root)
        self.sources = sources
        self.qemu = Path(qemu)
        self.memory = memory
        self.out = self.root / "build" / "keystone-sm"

    def _compiler(self) -> str:
        try:
            return subprocess.run([f"{CROSS}gcc", "--version"], capture_output=True, text=True,
                                  check=True).stdout.splitlines()[0]
        except (OSError, subprocess.CalledProcessError) as exc:
            raise KeystoneError(f"{CROSS}gcc is needed to build Keystone's SM: {exc}.\n"
                                "Fix: apt-get install gcc-riscv64-linux-gnu") from exc

    def build(self) -> KeystoneFirmware:
        """The SM and the boot ROM, each rebuilt only when its inputs changed."""
        compiler = self._compiler()
        recipe = inspect.getsource(KeystoneSmBuilder)
        src = self.sources
        fw_jump = self._opensbi(digest(src.keystone_id, src.opensbi_id, recipe,
                                       repr(OPENSBI_MAKE), compiler))
        fdt = qemu_fdt_address(self.qemu, self.memory)
        bootrom = self._bootrom(fdt, digest(src.keystone_id, recipe, BOOTROM_LDS,
                                            repr(BOOTROM_CFLAGS), compiler, hex(fdt)))
        return KeystoneFirmware(fw_jump=fw_jump, bootrom=bootrom, fdt_addr=fdt,
                                memory=self.memory,
                                source=f"Keystone {src.keystone_id}; OpenSBI {src.opensbi_id}")

    def _opensbi(self, key: str) -> Path:
        out = self.out / "fw_jump.bin"
        stamp = Stamp(self.out / "opensbi.stamp")
        if stamp.fresh(key, [out]):
            return out
        log.info("building Keystone's SM in OpenSBI (%s)", self.out)
        tree, build = self.out / "opensbi", self.out / "opensbi-build"
        for d in (tree, build):
            if d.exists():
                shutil.rmtree(d)
        shutil.copytree(self.sources.opensbi, tree, symlinks=True)
        ks = self.sources.keystone
        patches = sorted((ks / "overlays" / "keystone" / "patches" / "opensbi").glob("*.patch"))
        if not patches:
            raise KeystoneError(f"{ks}: no overlays/keystone/patches/opensbi/*.patch")
        logs = self.out / "logs"
        for p in patches:
            run_logged(["patch", "-p1", "-i", p], f"apply Keystone's {p.name} to OpenSBI",
                       logs / f"patch-{p.stem}.log", cwd=tree)
        build.mkdir(parents=True)  # OpenSBI resolves O= with readlink -f
        run_logged(["make", f"-j{os.cpu_count() or 1}", *OPENSBI_MAKE,
                    f"PLATFORM_DIR={ks / 'sm' / 'plat'}/", f"KEYSTONE_SM={ks / 'sm'}",
                    f"KEYSTONE_SDK_DIR={ks / 'sdk'}", f"O={build}"],
                   "make Keystone's SM (OpenSBI fw_jump)", logs / "opensbi-make.log", cwd=tree)
        shutil.copy2(build / "platform" / "generic" / "firmware" / "fw_jump.bin", out)
        shutil.copy2(build / "platform" / "generic" / "firmware" / "fw_jump.elf",
                     self.out / "fw_jump.elf")
        stamp.write(key)
        return out

    def _bootrom(self, fdt: int, key: str) -> Path:
        out = self.out / "bootrom.bin"
        stamp = Stamp(self.out / "bootrom.stamp")
        if stamp.fresh(key, [out]):
            return out
        log.info("building Keystone's boot ROM at %#x (FDT %#x)", BOOTROM_ADDR, fdt)
        rom = self.sources.keystone / "bootrom"
        self.out.mkdir(parents=True, exist_ok=True)
        lds = self.out / "bootrom.lds"
        lds.write_text(BOOTROM_LDS.format(addr=BOOTROM_ADDR, fdt=fdt))
        elf = self.out / "bootrom.elf"
        sources = [rom / "bootloader.S", rom / "bootloader.c",
                   *sorted((rom / "ed25519").glob("*.c")), *sorted((rom / "sha3").glob("*.c"))]
        logs = self.out / "logs"
        run_logged([f"{CROSS}gcc", *BOOTROM_CFLAGS, f"-I{rom}", f"-L{rom}", "-T", lds,
                    "-o", elf, *sources], "compile Keystone's boot ROM",
                   logs / "bootrom-gcc.log")
        run_logged([f"{CROSS}objcopy", "-O", "binary", "--only-section=.text", elf, out],
                   "objcopy Keystone's boot ROM", logs / "bootrom-objcopy.log")
        if BOOTROM_ADDR + out.stat().st_size > MROM_END:
            raise KeystoneError(f"Keystone's boot ROM ({out.stat().st_size} bytes) does not fit "
                                f"in QEMU's mask ROM between {BOOTROM_ADDR:#x} and {MROM_END:#x}")
        stamp.write(key)
        return out


def keystone_firmware(root: Path, qemu: Path, keystone: Optional[Path] = None,
                      opensbi: Optional[Path] = None, memory: str = "256M") -> KeystoneFirmware:
    """Keystone's SM and boot ROM built (cached) from the given sources or
    ``$KEYSTONE_SOURCES`` / ``$KEYSTONE_OPENSBI_SOURCES``; KeystoneSourcesMissing
    when they are not there, so that a caller can fall back to recorded figures."""
    return KeystoneSmBuilder(root, find_sources(root, keystone, opensbi), qemu,
                             memory).build()

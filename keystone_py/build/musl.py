"""musl 1.2.3, built from its release sources as a static riscv64 C library,
and C programs compiled against it: the third C library (after static glibc
and Rust std) whose programs run inside enclaves on our runtime.

There is no riscv64 musl toolchain package here, so musl is built with the
glibc cross compiler (``riscv64-linux-gnu-gcc``). Its release tarball is the
one Debian's archive serves (``musl_1.2.3.orig.tar.gz``, the upstream
tarball; its SHA-256 is in Debian's ``musl_1.2.3-1.dsc``), pinned here by
SHA-256. It is fetched once from :data:`MUSL_URL` into
``build/thirdparty/downloads/`` (or taken from ``$KEYSTONE_MUSL_TARBALL``);
the build is offline after that: ``configure --target=riscv64-linux-gnu
--disable-shared``, ``make install`` into ``build/thirdparty/musl-1.2.3/``.
Cached by inputs (a stamp keyed on the tarball's hash, the flags and the
compiler's version). The sources are not changed.

Programs are compiled with musl's own ``musl-gcc.specs`` (installed by
``make install``: musl's headers instead of glibc's, its crt files and
``libc.a``), static and not PIE.

Standard library only.
"""

from __future__ import annotations

import logging
import os
import shutil
import urllib.request
from pathlib import Path
from typing import Optional, Sequence

from ..errors import BuildError
from ..paths import build_dir, find_root
from ..toolchain import Toolchain, tool_output
from .cache import Stamp, compute_cache_key, digest, extract_tar, file_sha256
from .runner import run_logged
from .userapp import elf_interpreter

log = logging.getLogger("keystone_py.musl")

MUSL_VERSION = "1.2.3"
MUSL_TARBALL = f"musl_{MUSL_VERSION}.orig.tar.gz"
MUSL_URL = f"http://deb.debian.org/debian/pool/main/m/musl/{MUSL_TARBALL}"
#: From Debian's musl_1.2.3-1.dsc (Checksums-Sha256).
MUSL_TARBALL_SHA256 = "7d5b0b6062521e4627e099e4c9dc8248d32a30285e959b7eecaa780cf8cfd4a4"
#: Where a user's copy of the tarball may be named.
MUSL_SOURCE_ENV = "KEYSTONE_MUSL_TARBALL"
MUSL_CONFIGURE = ("--target=riscv64-linux-gnu", "--disable-shared")
#: How a program is compiled against musl (the specs file is added).
MUSL_PROGRAM_FLAGS = ("-static", "-no-pie", "-O2", "-Wall", "-Wextra", "-Werror")


def musl_tarball(downloads: Path, source: Optional[Path] = None) -> Path:
    """musl's release tarball, checked against its pin: a copy of ``source``,
    else fetched from Debian's archive once."""
    tarball = downloads / MUSL_TARBALL
    if tarball.is_file() and file_sha256(tarball) == MUSL_TARBALL_SHA256:
        return tarball
    downloads.mkdir(parents=True, exist_ok=True)
    if source is not None:
        src = Path(source).expanduser()
        if not src.is_file():
            raise BuildError(f"${MUSL_SOURCE_ENV} {src}: no such file (give {MUSL_TARBALL} "
                             f"from {MUSL_URL}).")
        if file_sha256(src) != MUSL_TARBALL_SHA256:
            raise BuildError(f"${MUSL_SOURCE_ENV} {src}: SHA-256 is not the pinned "
                             f"{MUSL_TARBALL_SHA256} of {MUSL_TARBALL}.")
        shutil.copyfile(src, tarball)
        return tarball
    log.info("musl: fetching %s (once)", MUSL_URL)
    part = tarball.with_suffix(".part")
    try:
        with urllib.request.urlopen(MUSL_URL, timeout=120) as r, open(part, "wb") as f:
            shutil.copyfileobj(r, f)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise BuildError(f"musl: fetching {MUSL_URL} failed: {exc}. Fetch {MUSL_TARBALL} "
                         f"yourself and set ${MUSL_SOURCE_ENV} to it.") from exc
    if file_sha256(part) != MUSL_TARBALL_SHA256:
        part.unlink()
        raise BuildError(f"{MUSL_URL}: SHA-256 is not the pinned {MUSL_TARBALL_SHA256}.")
    part.rename(tarball)
    return tarball


def _gcc_key(gcc: Path) -> str:
    return tool_output([gcc, "--version"], error=BuildError)


def build_musl(root: Optional[Path] = None, toolchain: Optional[Toolchain] = None,
               source: Optional[Path] = None, force: bool = False) -> Path:
    """musl's install prefix (``include/``, ``lib/libc.a``, ``lib/musl-gcc.specs``),
    built when missing or when an input changed (see the module doc)."""
    root = Path(root) if root else find_root()
    toolchain = toolchain or Toolchain()
    gcc = toolchain.require("linux-gcc")
    base = build_dir(root) / "thirdparty"
    out = base / f"musl-{MUSL_VERSION}"
    prefix = out / "prefix"
    outputs = [prefix / "lib" / "libc.a", prefix / "lib" / "musl-gcc.specs"]
    key = digest(MUSL_TARBALL_SHA256, " ".join(MUSL_CONFIGURE), _gcc_key(gcc))
    stamp = Stamp(out / "musl.stamp")
    if not force and stamp.fresh(key, outputs):
        log.info("musl %s: up to date (cache hit)", MUSL_VERSION)
        return prefix
    env_source = source or (Path(os.environ[MUSL_SOURCE_ENV])
                            if os.environ.get(MUSL_SOURCE_ENV) else None)
    tarball = musl_tarball(base / "downloads", env_source)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    try:
        extract_tar(tarball, out)
    except ValueError as exc:
        raise BuildError(str(exc)) from exc
    src = out / f"musl-{MUSL_VERSION}"
    logs = build_dir(root) / "logs"
    log.info("musl %s: configure and make install (static riscv64; ~3 min)", MUSL_VERSION)
    run_logged([src / "configure", *MUSL_CONFIGURE, f"--prefix={prefix}", f"CC={gcc}"],
               "configure musl", logs / "musl-configure.log", cwd=src)
    jobs = str(min(2, os.cpu_count() or 1))
    run_logged(["make", "-j", jobs, "install"], "make musl", logs / "musl-make.log", cwd=src)
    missing = [p for p in outputs if not p.is_file()]
    if missing:
        raise BuildError(f"musl: make install made no {missing[0]}; see "
                         f"{logs / 'musl-make.log'}.")
    shutil.rmtree(src)
    stamp.write(key)
    log.info("musl %s: %s", MUSL_VERSION, prefix)
    return prefix


def build_musl_program(name: str, sources: Sequence[str], root: Optional[Path] = None,
                       toolchain: Optional[Toolchain] = None) -> Path:
    """examples/linux/<name>/<sources> compiled and linked statically against
    musl (``build/thirdparty/musl-1.2.3/programs/<name>``), when stale."""
    root = Path(root) if root else find_root()
    toolchain = toolchain or Toolchain()
    gcc = toolchain.require("linux-gcc")
    prefix = build_musl(root, toolchain)
    out = prefix.parent / "programs"
    out.mkdir(parents=True, exist_ok=True)
    elf = out / name
    folder = f"examples/linux/{name}"
    key = compute_cache_key(root, (folder,), digest(MUSL_TARBALL_SHA256, _gcc_key(gcc),
                                                    " ".join(MUSL_PROGRAM_FLAGS)))
    stamp = Stamp(out / f"{name}.stamp")
    if stamp.fresh(key, [elf]):
        return elf
    argv = [str(gcc), "-specs", str(prefix / "lib" / "musl-gcc.specs"), *MUSL_PROGRAM_FLAGS,
            "-o", str(elf), *(str(root / folder / s) for s in sources)]
    run_logged(argv, f"musl gcc {folder}", build_dir(root) / "logs" / f"musl-{name}.log")
    if elf_interpreter(elf) is not None:
        raise BuildError(f"{elf} is not static (it names a dynamic loader).")
    stamp.write(key)
    return elf

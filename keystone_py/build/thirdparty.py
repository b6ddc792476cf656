"""Real programs no one here wrote, built from their released sources as static
riscv64 Linux programs, to run (with their own test suites) inside enclaves.

One for now: **jq 1.8.2**, the JSON processor, whose ``jq --run-tests
tests/jq.test`` is its own test suite (``N of M tests passed``). Its release
tarball comes inside the sdist of the PyPI package ``jq`` 1.13.0 (the Python
binding, which vendors it as ``deps/jq-1.8.2.tar.gz``); both are pinned by
SHA-256. The sdist is fetched once with ``pip download`` (or taken from
``$KEYSTONE_JQ_SDIST``: the sdist, or jq's own tarball) into
``build/thirdparty/downloads/``; the build is offline after that:
``configure --host=riscv64-linux-gnu`` with the bundled oniguruma, static
(``-all-static``), then ``make``. Cached like the rest (a stamp keyed on the
tarball's hash, the flags and the compiler's version).

The sources are not changed. One build flag differs from a default build:
``-UHAVE_PTHREAD``. ``jq --run-tests`` ends (after the counted tests) with a
check that starts threads, and an enclave has one thread (the runtime has no
``clone``): that check would abort the run. jq still uses pthread keys and
once, which one thread serves.

Standard library only.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..errors import BuildError
from ..paths import build_dir, find_root
from ..toolchain import Toolchain, tool_output
from .cache import Stamp, digest, extract_tar, file_sha256
from .runner import run_logged
from .userapp import elf_interpreter

log = logging.getLogger("keystone_py.thirdparty")

JQ_VERSION = "1.8.2"
#: The PyPI sdist that carries jq's release tarball, and both hashes.
JQ_PYPI = "jq==1.13.0"
JQ_SDIST = "jq-1.13.0.tar.gz"
JQ_SDIST_SHA256 = "e62bdddeab3b8a0a404581a7bb6f1e8c4cc6082280870031f746074f4cac52c0"
JQ_TARBALL = f"jq-{JQ_VERSION}.tar.gz"
JQ_TARBALL_MEMBER = f"jq-1.13.0/deps/{JQ_TARBALL}"
JQ_TARBALL_SHA256 = "71b8d6e8f5fe81f6c6d0d110e3892251f6ce76ed095abd315e26e6e1193af3af"
#: Where a user's copy of the sdist (or of jq's tarball) may be named.
JQ_SOURCE_ENV = "KEYSTONE_JQ_SDIST"
JQ_CONFIGURE = ("--host=riscv64-linux-gnu", "--with-oniguruma=builtin", "--disable-docs",
                "--disable-shared", "--enable-static", "--enable-all-static",
                "--disable-valgrind")
JQ_CFLAGS = "-O2"
JQ_CPPFLAGS = "-UHAVE_PTHREAD"


@dataclass(frozen=True)
class JqBuild:
    """The static jq and its source tree's tests folder (``jq.test``, ``modules/``)."""

    jq: Path
    tests: Path

    @property
    def suite(self) -> Path:
        return self.tests / "jq.test"


def _fetch_sdist(downloads: Path) -> Path:
    """The pinned sdist in ``downloads``, fetched with pip when missing."""
    sdist = downloads / JQ_SDIST
    if not sdist.is_file():
        downloads.mkdir(parents=True, exist_ok=True)
        log.info("jq: fetching the %s sdist with pip (once)", JQ_PYPI)
        argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                "-d", str(downloads), JQ_PYPI]
        run_logged(argv, f"pip download {JQ_PYPI}", downloads / "pip-download.log",
                   fix=f"Or fetch {JQ_SDIST} yourself and set ${JQ_SOURCE_ENV} to it.")
    if file_sha256(sdist) != JQ_SDIST_SHA256:
        raise BuildError(f"{sdist}: SHA-256 is not the pinned {JQ_SDIST_SHA256}; delete it "
                         "to fetch it again.")
    return sdist


def jq_tarball(downloads: Path, source: Optional[Path] = None) -> Path:
    """jq's release tarball, checked against its pin: from ``source`` (the
    sdist or the tarball), else from the fetched sdist."""
    tarball = downloads / JQ_TARBALL
    if tarball.is_file() and file_sha256(tarball) == JQ_TARBALL_SHA256:
        return tarball
    src = Path(source).expanduser() if source else None
    if src is not None and not src.is_file():
        raise BuildError(f"${JQ_SOURCE_ENV} {src}: no such file (give {JQ_SDIST} from PyPI "
                         f"or {JQ_TARBALL}).")
    if src is not None and file_sha256(src) == JQ_TARBALL_SHA256:
        downloads.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, tarball)
        return tarball
    if src is not None and file_sha256(src) != JQ_SDIST_SHA256:
        raise BuildError(f"${JQ_SOURCE_ENV} {src}: neither the pinned {JQ_SDIST} nor "
                         f"{JQ_TARBALL} (SHA-256 differs).")
    sdist = src or _fetch_sdist(downloads)
    with tarfile.open(sdist) as tar:
        member = tar.extractfile(JQ_TARBALL_MEMBER)
        if member is None:
            raise BuildError(f"{sdist} has no {JQ_TARBALL_MEMBER}.")
        downloads.mkdir(parents=True, exist_ok=True)
        tarball.write_bytes(member.read())
    if file_sha256(tarball) != JQ_TARBALL_SHA256:
        tarball.unlink()
        raise BuildError(f"{JQ_TARBALL_MEMBER} in {sdist}: SHA-256 is not the pinned "
                         f"{JQ_TARBALL_SHA256}.")
    return tarball


def build_jq(root: Optional[Path] = None, toolchain: Optional[Toolchain] = None,
             source: Optional[Path] = None, force: bool = False) -> JqBuild:
    """The static riscv64 jq (``build/thirdparty/jq-1.8.2/jq``) and its tests,
    built when missing or when an input changed (see the module doc)."""
    root = Path(root) if root else find_root()
    toolchain = toolchain or Toolchain()
    gcc = toolchain.require("linux-gcc")
    base = build_dir(root) / "thirdparty"
    out = base / f"jq-{JQ_VERSION}"
    src, obj, jq = out / "src", out / "obj", out / "jq"
    result = JqBuild(jq=jq, tests=src / "tests")
    flags = " ".join((*JQ_CONFIGURE, JQ_CFLAGS, JQ_CPPFLAGS))
    key = digest(JQ_TARBALL_SHA256, flags, tool_output([gcc, "--version"], error=BuildError))
    stamp = Stamp(out / "jq.stamp")
    if not force and stamp.fresh(key, [jq, result.suite]):
        log.info("jq %s: up to date (cache hit)", JQ_VERSION)
        return result
    env_source = source or (Path(os.environ[JQ_SOURCE_ENV]) if os.environ.get(JQ_SOURCE_ENV)
                            else None)
    tarball = jq_tarball(base / "downloads", env_source)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    try:
        extract_tar(tarball, out)
    except ValueError as exc:
        raise BuildError(str(exc)) from exc
    (out / f"jq-{JQ_VERSION}").rename(src)
    obj.mkdir()
    logs = build_dir(root) / "logs"
    env = dict(os.environ, CC=str(gcc), CFLAGS=JQ_CFLAGS, CPPFLAGS=JQ_CPPFLAGS)
    log.info("jq %s: configure and make (static riscv64; ~2 min)", JQ_VERSION)
    run_logged([src / "configure", *JQ_CONFIGURE], "configure jq", logs / "jq-configure.log",
               cwd=obj, env=env)
    jobs = str(min(2, os.cpu_count() or 1))
    run_logged(["make", "-j", jobs, "LDFLAGS=-all-static"], "make jq",
               logs / "jq-make.log", cwd=obj, env=env)
    shutil.copyfile(obj / "jq", jq)
    jq.chmod(0o755)
    if elf_interpreter(jq) is not None:
        raise BuildError(f"{jq} is not static (it names a dynamic loader); see "
                         f"{logs / 'jq-make.log'}.")
    stamp.write(key)
    log.info("jq %s: %s", JQ_VERSION, jq)
    return result

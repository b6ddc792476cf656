"""Fixtures of the zCore suites: zCore built once per session from its source
archives (skipped, with the reason, when no sources folder is given), and
machines that boot it on the SM with the SFS root image."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator, List, Optional, Sequence

import pytest

from keystone_py.build.zcore import SOURCES_ENV, ZcoreBuilder
from keystone_py.errors import KeystoneError
from keystone_py.pytest_plugin.fixtures import shutdown_all
from keystone_py.qemu import Machine, resolve_firmware
from keystone_py.qemu.zcore import zcore_machine

#: Seconds for zCore to boot and run its root process (it takes ~1 s of guest time;
#: the CI machine is shared and busy).
ZCORE_TIMEOUT = 120


@pytest.fixture(scope="session")
def zcore_build(ks_paths) -> ZcoreBuilder:
    """zCore (``build/zcore.bin``) and the root image's tools, built once per
    session (a cache hit when nothing changed). Skips when no sources folder is
    given (a clone without ../shared/vendor/zcore); fails on a build error."""
    if not os.environ.get(SOURCES_ENV):
        pytest.skip(f"zCore's sources are not given: set {SOURCES_ENV}=DIR (a folder of its "
                    "source archives and MANIFEST.tsv; `make test` passes "
                    "../shared/vendor/zcore when it exists)")
    builder = ZcoreBuilder(root=ks_paths.root, toolchain=ks_paths.toolchain)
    try:
        builder.build()
    except KeystoneError as exc:
        pytest.fail(f"keystone_py zCore build failed:\n{exc}", pytrace=False)
    return builder


@pytest.fixture(scope="session")
def zcore_root_image(zcore_build) -> Path:
    """``build/zcore/rootfs.img``: the SFS root image with ``/bin/hello``."""
    try:
        return zcore_build.default_root_image()
    except KeystoneError as exc:
        pytest.fail(f"keystone_py zCore root image failed:\n{exc}", pytrace=False)


@pytest.fixture
def zcore_guest(ks_paths, zcore_build, zcore_root_image, ks_log_dir) -> Iterator[Any]:
    """``zcore_guest(argv, smp=1, firmware=None, extra_args=(), log="warn", icount=None,
    name=None)``
    → a new, not yet launched Machine: the ``--firmware`` firmware (or ``firmware``),
    zCore with log level ``log``, the root image, ``argv`` as the root process,
    ``-icount`` (default: the ``--icount`` option).
    Shut down when the test ends."""
    made: List[Machine] = []

    def make(argv: Sequence[str], smp: int = 1, firmware: Optional[str] = None,
             extra_args: Sequence[str] = (), log: str = "warn",
             icount: Optional[int] = None, name: Optional[str] = None) -> Machine:
        name = name or f"zcore{len(made)}"
        fw = resolve_firmware(firmware or ks_paths.firmware_choice, ks_paths.artifacts,
                              ks_paths.toolchain)
        m = zcore_machine(fw, zcore_build.image, zcore_root_image, argv, smp=smp,
                          extra_args=[*ks_paths.qemu_args, *extra_args], log=log,
                          icount=icount if icount is not None else ks_paths.icount, name=name,
                          log_dir=ks_log_dir / name)
        made.append(m)
        return m

    yield make
    shutdown_all(made)

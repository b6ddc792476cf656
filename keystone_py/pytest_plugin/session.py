"""The built tree and the plugin's options, as every fixture and the TAP
collector see them: :class:`KsPaths`, made once per session by
:func:`ks_session`, plus the per-test log folder naming."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Optional

import pytest

from ..build import Artifacts, Builder
from ..errors import KeystoneError
from ..paths import build_dir, find_root
from ..qemu import Machine, resolve_firmware
from ..toolchain import Toolchain


@dataclass
class KsPaths:
    """The built tree, as the tests see it, and the machine options of the session."""

    root: Path
    build_dir: Path
    artifacts: Artifacts
    toolchain: Toolchain
    #: ``--firmware``: ``ours`` or ``opensbi``.
    firmware_choice: str = "ours"
    #: ``--qemu-arg`` values: every machine a test boots gets them (e.g. ``-cpu``).
    qemu_args: List[str] = field(default_factory=list)
    #: ``--smp`` and ``--icount``: defaults of :meth:`machine`.
    smp: int = 1
    icount: Optional[int] = None

    @property
    def sm_elf(self) -> Path:
        return self.artifacts.require("sm_elf")

    @property
    def sm_bin(self) -> Path:
        return self.artifacts.require("sm_bin")

    @property
    def payload_elf(self) -> Path:
        return self.artifacts.require("payload_elf")

    @property
    def payload_bin(self) -> Path:
        return self.artifacts.require("payload_bin")

    @property
    def firmware(self) -> Path:
        """The firmware chosen with ``--firmware``."""
        return resolve_firmware(self.firmware_choice, self.artifacts, self.toolchain)

    def machine(self, name: str, log_dir: Path, firmware: Optional[Path] = None,
                kernel: Optional[Path] = None, smp: Optional[int] = None,
                extra_args: Optional[List[str]] = None, **kwargs: Any) -> Machine:
        """A new, not yet launched :class:`Machine` with the session's defaults:
        the ``--firmware`` firmware, the conformance payload as kernel, ``--smp``
        harts, ``--icount``, the ``--qemu-arg`` extras first."""
        kwargs.setdefault("icount", self.icount)
        return Machine(firmware=firmware or self.firmware, kernel=kernel or self.payload_bin,
                       smp=smp or self.smp, extra_args=[*self.qemu_args, *(extra_args or [])],
                       log_dir=log_dir, name=name, qemu=self.toolchain.qemu, **kwargs)


_SESSION = pytest.StashKey[KsPaths]()


def ks_session(config: pytest.Config) -> KsPaths:
    """The session's :class:`KsPaths`: the firmware and the conformance payload
    built (a cache hit when nothing changed), once per session. KeystoneError
    when the build fails."""
    if _SESSION not in config.stash:
        root = find_root(Path(str(config.rootpath)))
        toolchain = Toolchain()
        artifacts = Builder(root=root, toolchain=toolchain).build()
        config.stash[_SESSION] = KsPaths(
            root=root, build_dir=build_dir(root), artifacts=artifacts, toolchain=toolchain,
            firmware_choice=config.getoption("firmware"),
            qemu_args=list(config.getoption("qemu_arg")), smp=config.getoption("smp"),
            icount=config.getoption("icount"))
    return config.stash[_SESSION]


def safe_name(nodeid: str) -> str:
    """A folder name for a test id (the last 150 characters)."""
    name = re.sub(r"[^A-Za-z0-9_.=-]+", "_", nodeid.replace("::", "__")).strip("_")
    return name[-150:]


def log_root(config: pytest.Config) -> Path:
    """``--ks-log-root``, else ``build/test-logs`` of the checkout."""
    opt = config.getoption("ks_log_root")
    if opt:
        return Path(opt).resolve()
    try:
        return build_dir(find_root(Path(str(config.rootpath)))) / "test-logs"
    except KeystoneError:
        return Path(str(config.rootpath)) / "test-logs"


def passed(item: pytest.Item) -> bool:
    """The item's setup passed and its call passed or skipped itself, as the
    plugin's ``pytest_runtest_makereport`` recorded them."""
    setup = getattr(item, "_ks_rep_setup", None)
    call = getattr(item, "_ks_rep_call", None)
    return bool(setup is not None and setup.passed and call is not None and not call.failed)

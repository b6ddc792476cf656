"""Which M-mode firmware a machine boots: ours, Debian's OpenSBI, or a file.

The CLI (``--firmware``), the pytest plugin (``--firmware``, the
``linux_machine`` fixture) and the bench all choose firmware the same way:

* ``ours``    – ``build/sm_rs.bin``, the security monitor;
* ``opensbi`` – Debian's OpenSBI ``fw_jump.bin`` (jumps to 0x80200000, as ours does);
* any other string – a path to a firmware image.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

from ..build.artifacts import Artifacts
from ..errors import KeystoneError
from ..toolchain import Toolchain

OURS = "ours"
OPENSBI = "opensbi"
CHOICES = (OURS, OPENSBI)


def resolve_firmware(choice: Union[str, Path], artifacts: Artifacts,
                     toolchain: Optional[Toolchain] = None) -> Path:
    """The firmware image for ``choice`` (``ours``, ``opensbi`` or a path)."""
    if isinstance(choice, Path):
        path = choice
    elif choice == OURS:
        return artifacts.require("sm_bin", what="the security monitor")
    elif choice == OPENSBI:
        return (toolchain or Toolchain()).opensbi_fw_jump
    else:
        path = Path(choice)
    if not path.is_file():
        raise KeystoneError(f"firmware {choice}: no such file (use ours, opensbi or a path).")
    return path


def firmware_label(choice: Union[str, Path]) -> str:
    """A short name for tables and log folders: ``ours``, ``opensbi`` or the file name."""
    if isinstance(choice, str) and choice in CHOICES:
        return choice
    return Path(choice).name

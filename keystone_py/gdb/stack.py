"""A whole stack to boot under GDB: the SM and the conformance payload hosting
one eapp through the loader and the runtime (:mod:`keystone_py.qemu.payload`),
and the worlds GDB gets for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Tuple

from ..build.artifacts import Artifacts
from ..qemu.payload import runtime_args, runtime_files
from .worlds import World, world_table


@dataclass
class PayloadStack:
    """SM + conformance payload hosting ``eapp``: the QEMU arguments
    (:attr:`extra_args`, :attr:`append`) and :meth:`worlds`."""

    artifacts: Artifacts
    eapp: str = "hello"
    extra_args: List[str] = field(default_factory=list)
    append: str = ""
    files: List[Tuple[str, Path]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.files = list(runtime_files(self.artifacts, [self.eapp]))
        self.extra_args, self.append = runtime_args(self.files)

    def worlds(self) -> Dict[str, World]:
        """SM, payload (host), loader, runtime and the eapp, from their ELFs."""
        a = self.artifacts
        return world_table(a.require("sm_elf"), a.require("payload_elf"),
                           loader=a.require("loader_elf"), runtime=a.require("runtime_elf"),
                           eapp=a.eapp(self.eapp))

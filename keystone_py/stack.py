"""A whole stack to boot under GDB: which files QEMU loads, what the host is
told, and the worlds GDB gets.

With the conformance payload as the host (``-append runtime``), QEMU's loader
device puts ``loader.bin``, the ``eyrie-rt`` ELF and each eapp ELF in DRAM as
raw files at :data:`FILES_BASE` (1 MiB apart) and the bootargs name them
(``ksfile=NAME,ADDR,SIZE``); the payload lays them out in its EPM as
Keystone's host SDK does and runs each eapp.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Sequence, Tuple

from .errors import KeystoneError
from .worlds import World, world_table

FILES_BASE = 0x8800_0000
SLOT = 0x10_0000


def runtime_files(artifacts: Mapping[str, str], eapps: Sequence[str]) -> List[Tuple[str, Path]]:
    """``[(name, path)]``: loader, runtime, then each eapp (``hello``, ``long-nop``...)."""
    files = [("loader", Path(artifacts["loader_bin"])), ("runtime", Path(artifacts["runtime_elf"]))]
    for name in eapps:
        key = f"eapp_{name.replace('-', '_')}_elf"
        if key not in artifacts:
            have = sorted(k[5:-4].replace("_", "-") for k in artifacts
                          if k.startswith("eapp_") and k.endswith("_elf"))
            raise KeystoneError(f"no eapp {name!r} built (have: {', '.join(have)}); "
                                "run `keystone-py build`")
        files.append((name, Path(artifacts[key])))
    return files


def runtime_args(files: Sequence[Tuple[str, Path]]) -> Tuple[List[str], str]:
    """QEMU loader devices for ``files`` and the payload's bootargs naming them."""
    extra: List[str] = []
    tokens = ["runtime"]
    for i, (name, path) in enumerate(files):
        addr = FILES_BASE + i * SLOT
        size = Path(path).stat().st_size
        if size > SLOT:
            raise KeystoneError(f"{path} is {size} bytes, more than a {SLOT:#x}-byte slot")
        extra += ["-device", f"loader,file={path},addr={addr:#x},force-raw=on"]
        tokens.append(f"ksfile={name},{addr:x},{size:x}")
    return extra, " ".join(tokens)


@dataclass
class PayloadStack:
    """SM + conformance payload hosting one eapp through the loader and runtime."""

    artifacts: Mapping[str, str]
    eapp: str = "hello"
    extra_args: List[str] = field(default_factory=list)
    append: str = ""

    def __post_init__(self) -> None:
        self.files = runtime_files(self.artifacts, [self.eapp])
        self.extra_args, self.append = runtime_args(self.files)

    def worlds(self) -> Dict[str, World]:
        a = self.artifacts
        return world_table(a["sm_elf"], a["payload_elf"], loader=a["loader_elf"],
                           runtime=a["runtime_elf"], eapp=dict(self.files)[self.eapp])

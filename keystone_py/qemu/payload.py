"""The conformance payload as an enclave host (``-append runtime``): which files
QEMU loads for it and what its command line tells it.

QEMU's loader device puts ``loader.bin``, the ``eyrie-rt`` ELF and each eapp
ELF in DRAM as raw files at :data:`FILES_BASE` (1 MiB apart) and the bootargs
name them (``ksfile=NAME,ADDR,SIZE``); the payload lays them out in its EPM as
Keystone's host SDK does and runs each eapp.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Sequence, Tuple

from ..build.artifacts import Artifacts
from ..errors import KeystoneError

FILES_BASE = 0x8800_0000
SLOT = 0x10_0000


def runtime_files(artifacts: Artifacts, eapps: Sequence[str]) -> List[Tuple[str, Path]]:
    """``[(name, path)]``: loader, runtime, then each eapp (``hello``, ``long-nop``...)."""
    files = [("loader", artifacts.require("loader_bin")),
             ("runtime", artifacts.require("runtime_elf"))]
    files += [(name, artifacts.eapp(name)) for name in eapps]
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

"""Predict an enclave's measurement offline, as the SM computes it at CREATE.

Keystone's current measurement (`sm_core::measure`): SHA3-512 over three little-endian
u64 (runtime - EPM base, user - runtime, free - user), then every 4 KiB page
from the EPM base to the first free page. The host lays the loader, runtime
and eapp files out page-aligned and consecutive from the EPM base, each
zero-padded to a whole page (the same rule the host SDK and the conformance
payload use).
"""

from __future__ import annotations

from pathlib import Path
from typing import Union

from .. import abi
from ..errors import KeystoneError
from .ed25519_sha3 import sha3_512

PAGE = 4096
Blob = Union[bytes, Path, str]


def _bytes(blob: Blob) -> bytes:
    return blob if isinstance(blob, bytes) else Path(blob).read_bytes()


def _pad(data: bytes) -> bytes:
    return data + bytes(-len(data) % PAGE)


def measure_layout(loader: bytes, runtime: bytes, eapp: bytes) -> bytes:
    """The measurement of page-padded loader, runtime and eapp images."""
    pages = [_pad(loader), _pad(runtime), _pad(eapp)]
    header = b"".join(len(p).to_bytes(8, "little") for p in pages)
    return sha3_512(header, *pages)


def predict(loader: Blob, runtime: Blob, eapp: Blob) -> bytes:
    """The 64-byte enclave hash for these three files."""
    return measure_layout(_bytes(loader), _bytes(runtime), _bytes(eapp))


#: How many bytes from the SM's base its hash covers: Keystone's
#: ``sanctum_sm_size`` (bootrom/bootloader.c), so the firmware image is hashed
#: zero-padded to this size, as Keystone's boot ROM and its verifier do.
SM_HASH_SIZE = abi.SM_HASH_SIZE


def firmware_hash(firmware: Blob) -> bytes:
    """The SM hash the boot stage reports (Keystone's definition): SHA3-512 of
    the firmware image zero-padded to SM_HASH_SIZE (0x1ff000) bytes, the SM
    region as loaded. Keystone's attestation verifier computes the same from
    its firmware file."""
    image = _bytes(firmware)
    if len(image) > SM_HASH_SIZE:
        raise KeystoneError(f"the firmware image is {len(image):#x} bytes, more than the "
                            f"{SM_HASH_SIZE:#x} bytes the SM hash covers: not an SM image")
    return sha3_512(image, bytes(SM_HASH_SIZE - len(image)))

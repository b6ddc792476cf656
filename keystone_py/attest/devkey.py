"""The device secret the SM's boot stage derives its keys from.

On QEMU there is no fused secret: the platform hands the SM a DEVELOPMENT
secret by loading a small page (the magic ``KSDEVKEY`` then 32 bytes) at the
last page of the SM region with QEMU's loader device. The default is derived
from a public label and is NOT secret; give ``keystone-py build
--device-secret FILE`` (32 raw bytes) to replace it per build.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

from .ed25519_sha3 import public_key, sha3_512

#: Last page of the SM region (sdk/abi: DEVICE_SECRET_ADDR).
DEVICE_SECRET_ADDR = 0x801F_F000
MAGIC = b"KSDEVKEY"
DEV_LABEL = b"keystone-rs DEVELOPMENT device secret - public, NOT SECRET"


def default_secret() -> bytes:
    """The labelled development secret (public by construction)."""
    return sha3_512(DEV_LABEL)[:32]


def load_secret(path: Optional[Path]) -> bytes:
    """32 raw bytes from ``path``, or the development secret."""
    if path is None:
        return default_secret()
    data = Path(path).read_bytes()
    if len(data) != 32:
        raise ValueError(f"{path}: a device secret is exactly 32 bytes, this file has {len(data)}")
    return data


def write_page(path: Path, secret: bytes) -> Path:
    """Writes the page QEMU loads for the SM: magic then the secret."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(MAGIC + secret)
    return path


def qemu_args(page: Path) -> List[str]:
    """QEMU arguments that place the secret page where the SM looks for it."""
    return ["-device", f"loader,file={page},addr={DEVICE_SECRET_ADDR:#x},force-raw=on"]


def device_public_key(secret: bytes) -> bytes:
    """The device public key a verifier should trust for this secret."""
    return public_key(secret)

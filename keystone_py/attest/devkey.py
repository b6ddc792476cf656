"""The device key the SM's boot stage derives its keys from.

On QEMU there is no fused secret: the platform hands the SM a DEVELOPMENT
key by loading a small page at the last page of the SM region with QEMU's
loader device. Two forms are taken:

* ours: the magic ``KSDEVKEY`` then a 32-byte seed (expanded with SHA3-512);
* Keystone's (``bootrom/test_dev_key.h``): the magic ``KSDEVK64``, the 64-byte
  *expanded* secret (clamped scalar ‖ nonce prefix), then its public key.

:func:`load_key` reads either from a file: 32 raw bytes (a seed), 64 raw
bytes (an expanded secret), 96 raw bytes (expanded secret ‖ public key), or
a C header in the shape Keystone ships its test key in (two byte arrays
named ``_sanctum_dev_secret_key`` and ``_sanctum_dev_public_key``). A public
key that is not the secret's is an error, never loaded.

The default is derived from a public label and is NOT secret.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Union

from ..errors import DeviceKeyError
from .ed25519_sha3 import public_key, public_key_expanded, sha3_512

log = logging.getLogger(__name__)

#: Last page of the SM region (sdk/abi: DEVICE_SECRET_ADDR).
DEVICE_SECRET_ADDR = 0x801F_F000
MAGIC = b"KSDEVKEY"
MAGIC_EXPANDED = b"KSDEVK64"
DEV_LABEL = b"keystone-rs DEVELOPMENT device secret - public, NOT SECRET"
#: The array names of Keystone's test key header.
KEYSTONE_SECRET_ARRAY = "_sanctum_dev_secret_key"
KEYSTONE_PUBLIC_ARRAY = "_sanctum_dev_public_key"


@dataclass(frozen=True)
class DeviceKey:
    """A device key: a 32-byte seed, or Keystone's 64-byte expanded secret."""

    secret: bytes = field(repr=False)
    public: bytes

    def __post_init__(self) -> None:
        if len(self.secret) == 32:
            derived = public_key(self.secret)
        elif len(self.secret) == 64:
            derived = public_key_expanded(self.secret)
        else:
            raise DeviceKeyError(f"a device secret is a 32-byte seed or a 64-byte expanded "
                                 f"secret, not {len(self.secret)} bytes")
        if derived != self.public:
            raise DeviceKeyError(f"the public key {self.public.hex()[:16]}.. is not the "
                                 f"secret's (which is {derived.hex()[:16]}..)")

    @classmethod
    def from_seed(cls, seed: bytes) -> "DeviceKey":
        if len(seed) != 32:
            raise DeviceKeyError(f"a device seed is 32 bytes, not {len(seed)}")
        return cls(seed, public_key(seed))

    @classmethod
    def from_expanded(cls, secret: bytes, public: Optional[bytes] = None) -> "DeviceKey":
        """Keystone's form; ``public`` is computed when not given, checked when given."""
        if len(secret) != 64:
            raise DeviceKeyError(f"an expanded device secret is 64 bytes, not {len(secret)}")
        return cls(secret, public if public is not None else public_key_expanded(secret))

    @property
    def form(self) -> str:
        """``"seed"`` or ``"keystone"`` (the expanded form)."""
        return "seed" if len(self.secret) == 32 else "keystone"

    def page(self) -> bytes:
        """The bytes QEMU loads at DEVICE_SECRET_ADDR for the SM."""
        if self.form == "seed":
            return MAGIC + self.secret
        return MAGIC_EXPANDED + self.secret + self.public


def default_secret() -> bytes:
    """The labelled development secret (public by construction)."""
    return sha3_512(DEV_LABEL)[:32]


_ARRAY = r"{name}\s*\[\s*\d*\s*\]\s*=\s*\{{([^}}]*)\}}"


def _header_array(text: str, name: str, path: Path) -> bytes:
    found = re.search(_ARRAY.format(name=re.escape(name)), text)
    if not found:
        raise DeviceKeyError(f"{path}: no array {name}[] = {{...}} in this C header")
    try:
        return bytes(int(tok, 0) for tok in found.group(1).replace(",", " ").split())
    except ValueError as exc:
        raise DeviceKeyError(f"{path}: {name} is not a list of byte values ({exc})") from exc


def _from_header(text: str, path: Path) -> DeviceKey:
    secret = _header_array(text, KEYSTONE_SECRET_ARRAY, path)
    public = _header_array(text, KEYSTONE_PUBLIC_ARRAY, path)
    if len(secret) != 64 or len(public) != 32:
        raise DeviceKeyError(f"{path}: {KEYSTONE_SECRET_ARRAY} must hold 64 bytes and "
                             f"{KEYSTONE_PUBLIC_ARRAY} 32, they hold {len(secret)} and "
                             f"{len(public)}")
    return DeviceKey.from_expanded(secret, public)


def load_key(path: Optional[Path]) -> DeviceKey:
    """The device key in ``path`` (any form in the module doc), or the
    development seed. Raises :class:`DeviceKeyError` with the reason."""
    if path is None:
        return DeviceKey.from_seed(default_secret())
    path = Path(path)
    data = path.read_bytes()
    if KEYSTONE_SECRET_ARRAY.encode() in data:
        key = _from_header(data.decode(errors="replace"), path)
    elif len(data) == 32:
        key = DeviceKey.from_seed(data)
    elif len(data) == 64:
        key = DeviceKey.from_expanded(data)
    elif len(data) == 96:
        try:
            key = DeviceKey.from_expanded(data[:64], data[64:])
        except DeviceKeyError as exc:
            raise DeviceKeyError(f"{path}: {exc}") from exc
    else:
        raise DeviceKeyError(
            f"{path}: {len(data)} bytes is no device key form: give a 32-byte seed, a 64-byte "
            f"expanded secret, 96 bytes (expanded secret then public key), or a C header "
            f"defining {KEYSTONE_SECRET_ARRAY}[] and {KEYSTONE_PUBLIC_ARRAY}[]")
    log.info("device key from %s: %s form, public key %s", path, key.form, key.public.hex())
    return key


def load_secret(path: Optional[Path]) -> bytes:
    """32 raw bytes from ``path``, or the development secret (the seed form only;
    :func:`load_key` takes every form)."""
    key = load_key(path)
    if key.form != "seed":
        raise DeviceKeyError(f"{path}: holds a Keystone-form (expanded) key, not a 32-byte "
                             "seed; use load_key")
    return key.secret


def write_page(path: Path, key: Union[bytes, DeviceKey]) -> Path:
    """Writes the page QEMU loads for the SM: a seed (bytes) or any DeviceKey."""
    if isinstance(key, bytes):
        key = DeviceKey.from_seed(key)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(key.page())
    return path


def qemu_args(page: Path) -> List[str]:
    """QEMU arguments that place the device-key page where the SM looks for it."""
    return ["-device", f"loader,file={page},addr={DEVICE_SECRET_ADDR:#x},force-raw=on"]


def device_qemu_args(folder: Path, secret_file: Optional[Path] = None) -> List[str]:
    """QEMU arguments that hand the SM a device secret, for every run that boots
    it (``run --eapp``, ``run --host zcore``, the ``ks_run`` fixture):
    ``secret_file`` (a 32-byte seed) or, without one, the public development
    secret that ``attest verify`` trusts by default. The page goes in ``folder``,
    named by the secret's first bytes."""
    secret = load_secret(secret_file)
    page = write_page(Path(folder) / f"device-{secret.hex()[:8]}.key", secret)
    return qemu_args(page)


def device_public_key(secret: Union[bytes, DeviceKey]) -> bytes:
    """The device public key a verifier should trust for this secret (a
    32-byte seed, a 64-byte expanded secret, or a DeviceKey)."""
    if isinstance(secret, DeviceKey):
        return secret.public
    if len(secret) == 64:
        return public_key_expanded(secret)
    return public_key(secret)

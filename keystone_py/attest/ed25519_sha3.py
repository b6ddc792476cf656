"""Ed25519 with SHA3-512 in place of SHA-512 (Keystone's signature scheme).

Built only from libsodium's low-level Ed25519 point and scalar operations as
PyNaCl exposes them: no curve arithmetic is written here.
"""

from __future__ import annotations

import hashlib

from nacl import bindings as _na
from nacl.exceptions import RuntimeError as _NaclError

L = 2**252 + 27742317777372353535851937790883648493


def sha3_512(*parts: bytes) -> bytes:
    """SHA3-512 over the concatenation of ``parts``."""
    h = hashlib.sha3_512()
    for p in parts:
        h.update(p)
    return h.digest()


def _reduce(wide: bytes) -> bytes:
    return _na.crypto_core_ed25519_scalar_reduce(wide)


def expand_seed(seed: bytes) -> tuple[bytes, bytes, bytes]:
    """(scalar mod L, nonce prefix, public key) of a 32-byte seed."""
    if len(seed) != 32:
        raise ValueError("an Ed25519 seed is 32 bytes")
    h = sha3_512(seed)
    a = bytearray(h[:32])
    a[0] &= 248
    a[31] &= 127
    a[31] |= 64
    scalar = _reduce(bytes(a) + bytes(32))
    return scalar, h[32:], _na.crypto_scalarmult_ed25519_base_noclamp(scalar)


def public_key_expanded(secret: bytes) -> bytes:
    """The public key of a 64-byte expanded secret (Keystone's key form:
    scalar ‖ nonce prefix, as in its ``bootrom/test_dev_key.h``)."""
    if len(secret) != 64:
        raise ValueError("an expanded Ed25519 secret is 64 bytes")
    return _na.crypto_scalarmult_ed25519_base_noclamp(_reduce(secret[:32] + bytes(32)))


def public_key(seed: bytes) -> bytes:
    """The public key of a 32-byte seed."""
    return expand_seed(seed)[2]


def sign(seed: bytes, message: bytes) -> bytes:
    """R ‖ S over ``message`` (used by tests to make signatures to tamper with)."""
    a, prefix, pk = expand_seed(seed)
    r = _reduce(sha3_512(prefix, message))
    big_r = _na.crypto_scalarmult_ed25519_base_noclamp(r)
    k = _reduce(sha3_512(big_r, pk, message))
    s = _na.crypto_core_ed25519_scalar_add(r, _na.crypto_core_ed25519_scalar_mul(k, a))
    return big_r + s


def verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """True when ``signature`` is a valid Ed25519-SHA3 signature by ``public``."""
    if len(public) != 32 or len(signature) != 64:
        return False
    big_r, s = signature[:32], signature[32:]
    if int.from_bytes(s, "little") >= L:
        return False
    if not (_na.crypto_core_ed25519_is_valid_point(public)
            and _na.crypto_core_ed25519_is_valid_point(big_r)):
        return False
    k = _reduce(sha3_512(big_r, public, message))
    try:
        sb = _na.crypto_scalarmult_ed25519_base_noclamp(s)
        ka = _na.crypto_scalarmult_ed25519_noclamp(k, public)
        return sb == _na.crypto_core_ed25519_add(big_r, ka)
    except _NaclError:
        return False

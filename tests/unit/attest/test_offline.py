"""Attestation offline: the signature scheme, measurements, report parsing."""

import pytest

from keystone_py.attest import REPORT_SIZE, Report, ReportError, predict, verify
from keystone_py.attest.devkey import default_secret, device_public_key
from keystone_py.attest.ed25519_sha3 import public_key, sign
from keystone_py.attest.ed25519_sha3 import verify as ed_verify
from keystone_py.attest.measure import PAGE, measure_layout

SEED = bytes(range(32))


def test_a_signature_verifies_and_a_flipped_bit_does_not():
    sig = sign(SEED, b"message")
    assert ed_verify(public_key(SEED), b"message", sig)
    assert not ed_verify(public_key(SEED), b"messagf", sig)
    assert not ed_verify(public_key(bytes(32)), b"message", sig)
    assert not ed_verify(public_key(SEED), b"message", sig[:63] + bytes([sig[63] ^ 1]))


def test_the_measurement_pads_each_file_to_a_page():
    assert predict(b"loader", b"runtime", b"eapp") == measure_layout(
        b"loader" + bytes(PAGE - 6), b"runtime", b"eapp")
    assert predict(b"loader", b"runtime", b"eapp") != predict(b"loader", b"runtime", b"eapq")


def test_the_development_device_key_is_stable():
    assert device_public_key(default_secret()) == public_key(default_secret())
    assert len(default_secret()) == 32


def make_report(data: bytes = b"nonce") -> bytes:
    """A report signed as the SM would, with the development device key."""
    device, sm = default_secret(), bytes(range(1, 33))
    enclave_hash, sm_hash = bytes(64), bytes([7]) * 64
    signed = enclave_hash + len(data).to_bytes(8, "little") + data
    enclave = signed + bytes(1024 - len(data)) + sign(sm, signed)
    sm_part = sm_hash + public_key(sm) + sign(device, sm_hash + public_key(sm))
    return enclave + sm_part + public_key(device)


def test_a_report_signed_by_the_chain_verifies_and_names_each_check():
    raw = make_report()
    assert len(raw) == REPORT_SIZE
    verdict = verify(Report.parse(raw), device_public_key=device_public_key(default_secret()),
                     enclave_hash=bytes(64), nonce=b"nonce")
    assert verdict.ok, str(verdict)
    bad = verify(Report.parse(raw), device_public_key=device_public_key(default_secret()),
                 nonce=b"other")
    assert not bad.ok and "FAIL report data is the nonce" in str(bad)


def test_bytes_that_are_not_a_report_are_refused():
    with pytest.raises(ReportError, match="a report is 1352 bytes"):
        Report.parse(b"short")
    raw = bytearray(make_report())
    raw[64:72] = (2000).to_bytes(8, "little")
    with pytest.raises(ValueError, match="exceeds 1024"):
        Report.parse(bytes(raw))

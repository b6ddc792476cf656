"""Attestation Keystone's verifiers accept: our SM, given a device key in
Keystone's form (the 64-byte expanded secret and its public key, in a C header
shaped like Keystone's ``bootrom/test_dev_key.h``), produces a report whose SM
hash is Keystone's (the SM region as loaded, zero-padded to 0x1ff000 bytes).

The report is checked twice: by ``keystone-py attest verify``, and by a small
verifier in this file written from Keystone's published scheme (report
layout of ``sdk/include/verifier/report.h``; ``Report::checkSignaturesOnly``
and ``ed25519_verify`` with SHA3-512; ``compute_expected_sm_hash`` of
``examples/attestation``), using only hashlib and PyNaCl's bindings — no code
of ``keystone_py.attest``.

Set ``KEYSTONE_TEST_DEV_KEY_H`` to Keystone's own ``bootrom/test_dev_key.h``
to repeat the first test with Keystone's compiled-in test key.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, Tuple

import pytest
from nacl import bindings as na
from nacl.exceptions import RuntimeError as NaclError

from keystone_py.attest import devkey, report_bytes_in
from keystone_py.contract import NOT_OK, PAYLOAD_DONE, PLAN, SM_BANNER, SM_DEVICE_KEY
from keystone_py.qemu.payload import runtime_args, runtime_files

# -- Keystone's scheme, written out independently ---------------------------------------

#: sdk/include/verifier/report.h: enclave {hash 64, data_len u64, data 1024,
#: signature 64}, sm {hash 64, public_key 32, signature 64}, dev_public_key 32.
KS_MDSIZE, KS_PK, KS_SIG, KS_DATA_MAX = 64, 32, 64, 1024
KS_ENCLAVE = KS_MDSIZE + 8 + KS_DATA_MAX + KS_SIG
KS_SM = KS_MDSIZE + KS_PK + KS_SIG
KS_REPORT = KS_ENCLAVE + KS_SM + KS_PK
#: bootrom/bootloader.c sanctum_sm_size; examples/attestation reads the SM file into
#: a zeroed buffer of this size and hashes all of it.
KS_SM_SIZE = 0x1FF000


def ks_ed25519_verify(signature: bytes, message: bytes, public: bytes) -> bool:
    """orlp/ed25519 verify as Keystone builds it: SHA3-512 for H(R ‖ A ‖ M)."""
    if signature[63] & 224:
        return False
    h = na.crypto_core_ed25519_scalar_reduce(
        hashlib.sha3_512(signature[:32] + public + message).digest())
    try:
        s_b = na.crypto_scalarmult_ed25519_base_noclamp(signature[32:])
        h_a = na.crypto_scalarmult_ed25519_noclamp(h, public)
        return na.crypto_core_ed25519_sub(s_b, h_a) == signature[:32]
    except NaclError:
        return False


def ks_sm_hash(sm_file: Path) -> bytes:
    content = bytearray(KS_SM_SIZE)
    data = sm_file.read_bytes()[:KS_SM_SIZE]
    content[:len(data)] = data
    return hashlib.sha3_512(bytes(content)).digest()


def ks_enclave_hash(loader: Path, runtime: Path, eapp: Path) -> bytes:
    """Keystone's current measurement: three u64 sizes, then the page-padded files."""
    pages = [(p.read_bytes() + bytes(-p.stat().st_size % 4096)) for p in (loader, runtime, eapp)]
    h = hashlib.sha3_512()
    for p in pages:
        h.update(len(p).to_bytes(8, "little"))
    for p in pages:
        h.update(p)
    return h.digest()


def ks_check(raw: bytes, dev_public: bytes, sm_file: Path,
             enclave_files: Tuple[Path, Path, Path]) -> Dict[str, bool]:
    """What Keystone's attestor checks, by name."""
    assert len(raw) == KS_REPORT
    enclave, sm = raw[:KS_ENCLAVE], raw[KS_ENCLAVE:KS_ENCLAVE + KS_SM]
    data_len = int.from_bytes(enclave[KS_MDSIZE:KS_MDSIZE + 8], "little")
    assert data_len <= KS_DATA_MAX
    enclave_sig = enclave[KS_MDSIZE + 8 + KS_DATA_MAX:]
    sm_hash, sm_pk, sm_sig = sm[:KS_MDSIZE], sm[KS_MDSIZE:KS_MDSIZE + KS_PK], sm[-KS_SIG:]
    return {
        "sm signature": ks_ed25519_verify(sm_sig, sm[:KS_MDSIZE + KS_PK], dev_public),
        "enclave signature": ks_ed25519_verify(enclave_sig, enclave[:KS_MDSIZE + 8 + data_len],
                                               sm_pk),
        "sm hash": sm_hash == ks_sm_hash(sm_file),
        "enclave hash": enclave[:KS_MDSIZE] == ks_enclave_hash(*enclave_files),
        "device key in report": raw[-KS_PK:] == dev_public,
        "data": enclave[KS_MDSIZE + 8:KS_MDSIZE + 8 + data_len] == b"nonce",
    }


# -- a device key in Keystone's form -------------------------------------------------------

def _keystone_form_key() -> Tuple[bytes, bytes]:
    """A 64-byte expanded secret that no seed of ours produced (scalar and
    nonce prefix from unrelated labels) and its public key."""
    scalar = bytearray(hashlib.sha3_512(b"keystone-rs compat test: scalar").digest()[:32])
    scalar[0] &= 248
    scalar[31] &= 127
    scalar[31] |= 64
    prefix = hashlib.sha3_512(b"keystone-rs compat test: prefix").digest()[:32]
    reduced = na.crypto_core_ed25519_scalar_reduce(bytes(scalar) + bytes(32))
    return bytes(scalar) + prefix, na.crypto_scalarmult_ed25519_base_noclamp(reduced)


def _c_array(name: str, data: bytes) -> str:
    body = ",".join(f" 0x{b:02x}" for b in data)
    return f"static const unsigned char {name}[] = {{{body}}};\n"


def _header(path: Path, secret: bytes, public: bytes) -> Path:
    path.write_text("/* TEST device key in Keystone's header shape */\n"
                    + _c_array("_sanctum_dev_secret_key", secret)
                    + f"static const size_t _sanctum_dev_secret_key_len = {len(secret)};\n"
                    + _c_array("_sanctum_dev_public_key", public)
                    + f"static const size_t _sanctum_dev_public_key_len = {len(public)};\n")
    return path


# -- booting the runtime with the attestation eapp ---------------------------------------

@pytest.fixture(scope="module")
def attest_files(ks_enclave):
    return runtime_files(ks_enclave, ["attestation"])


def _boot(machine_factory, files, page: Path, name: str) -> str:
    extra, append = runtime_args(files)
    extra += devkey.qemu_args(page)
    with machine_factory(name=name, smp=1, extra_args=extra, append=append) as m:
        m.expect(SM_BANNER, timeout=20)
        m.expect(PLAN, fail=[NOT_OK], timeout=300)
        m.expect(PAYLOAD_DONE, timeout=10)
        assert m.wait_exit(timeout=20) == 0
    return m.console_text


def _key_line(console: str) -> re.Match:
    found = re.search(SM_DEVICE_KEY, console)
    assert found, "the SM printed no device-key line"
    return found


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "keystone_py", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def _check_keystone_form(machine_factory, attest_files, ks_paths, tmp_path: Path,
                         header: Path) -> None:
    key = devkey.load_key(header)
    assert key.form == "keystone"
    console = _boot(machine_factory, attest_files, devkey.write_page(tmp_path / "dev.page", key),
                    "keystone-key")
    assert _key_line(console).group("form") == "Keystone form"
    raw = report_bytes_in(console)
    assert raw, "the host printed no report"
    files = dict(attest_files)
    enclave = (Path(files["loader"]), Path(files["runtime"]), Path(files["attestation"]))

    # Keystone's scheme, independently.
    checks = ks_check(raw, key.public, ks_paths.sm_bin, enclave)
    assert all(checks.values()), checks
    # The hash the SM reports is not the plain file hash (the padding is there).
    assert raw[KS_ENCLAVE:KS_ENCLAVE + KS_MDSIZE] != hashlib.sha3_512(
        ks_paths.sm_bin.read_bytes()).digest()

    # keystone-py attest verify, trusting the header's public key.
    report = tmp_path / "report.hex"
    report.write_text(raw.hex())
    args = ["attest", "verify", str(report), "--loader", str(enclave[0]), "--runtime",
            str(enclave[1]), "--eapp", str(enclave[2]), "--firmware", str(ks_paths.sm_bin),
            "--device-secret", str(header), "--nonce", "nonce"]
    res = _cli(*args, cwd=ks_paths.root)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "verdict: VALID" in res.stdout
    # keystone-py measure --firmware prints the hash the report carries.
    res = _cli("measure", "--firmware", str(ks_paths.sm_bin), cwd=ks_paths.root)
    assert res.returncode == 0, res.stderr
    assert bytes.fromhex(res.stdout.strip()) == raw[KS_ENCLAVE:KS_ENCLAVE + KS_MDSIZE]
    # A different trusted key is refused by both.
    other = tmp_path / "other.seed"
    other.write_bytes(bytes(range(32)))
    res = _cli(*args[:-4], "--device-secret", str(other), "--nonce", "nonce",
               cwd=ks_paths.root)
    assert res.returncode == 1 and "INVALID" in res.stdout
    assert not ks_check(raw, devkey.load_key(other).public, ks_paths.sm_bin,
                        enclave)["sm signature"]


def test_keystone_form_key_and_sm_hash_verify_with_keystone_scheme_and_cli(
        machine_factory, attest_files, ks_paths, tmp_path):
    secret, public = _keystone_form_key()
    header = _header(tmp_path / "test_dev_key.h", secret, public)
    _check_keystone_form(machine_factory, attest_files, ks_paths, tmp_path, header)


@pytest.mark.skipif(not os.environ.get("KEYSTONE_TEST_DEV_KEY_H"),
                    reason="KEYSTONE_TEST_DEV_KEY_H (Keystone's bootrom/test_dev_key.h) not set")
def test_keystones_own_test_key(machine_factory, attest_files, ks_paths, tmp_path):
    header = Path(os.environ["KEYSTONE_TEST_DEV_KEY_H"])
    _check_keystone_form(machine_factory, attest_files, ks_paths, tmp_path, header)


def test_sm_refuses_a_keystone_form_page_whose_public_key_is_not_its_secrets(
        machine_factory, attest_files, tmp_path):
    secret, public = _keystone_form_key()
    wrong = bytes([public[0] ^ 1]) + public[1:]
    page = tmp_path / "bad.page"
    page.write_bytes(devkey.MAGIC_EXPANDED + secret + wrong)   # bypasses load_key's check
    console = _boot(machine_factory, attest_files, page, "bad-key")
    assert _key_line(console).group("warning") == "the device key page"
    raw = report_bytes_in(console)
    assert raw
    # The SM fell back to the public all-zero development seed, not the page's key.
    zero_seed_public = devkey.DeviceKey.from_seed(bytes(32)).public
    assert raw[-KS_PK:] == zero_seed_public
    assert raw[-KS_PK:] not in (public, wrong)

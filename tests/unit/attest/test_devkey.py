"""Device keys in both forms (our 32-byte seed, Keystone's 64-byte expanded
secret with its public key), the files they come in, and the SM hash."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest
from nacl import bindings as na

from keystone_py.attest import devkey
from keystone_py.attest.measure import SM_HASH_SIZE, firmware_hash
from keystone_py.errors import DeviceKeyError, KeystoneError

pytestmark = pytest.mark.unit

SEED = bytes(range(32))


def _expanded() -> tuple[bytes, bytes]:
    """An expanded secret built here with PyNaCl directly, and its public key."""
    scalar = bytearray(hashlib.sha3_512(b"unit scalar").digest()[:32])
    scalar[0] &= 248
    scalar[31] = (scalar[31] & 127) | 64
    public = na.crypto_scalarmult_ed25519_base_noclamp(
        na.crypto_core_ed25519_scalar_reduce(bytes(scalar) + bytes(32)))
    return bytes(scalar) + hashlib.sha3_512(b"unit prefix").digest()[:32], public


def _header(secret: bytes, public: bytes) -> str:
    def arr(name: str, data: bytes) -> str:
        return f"static const unsigned char {name}[] = {{{', '.join(hex(b) for b in data)}}};\n"
    return arr("_sanctum_dev_secret_key", secret) + arr("_sanctum_dev_public_key", public)


def test_seed_file_gives_the_seed_form_and_its_page(tmp_path):
    f = tmp_path / "seed"
    f.write_bytes(SEED)
    key = devkey.load_key(f)
    assert key.form == "seed" and key.secret == SEED
    assert key.page() == b"KSDEVKEY" + SEED
    assert devkey.load_secret(f) == SEED


def test_expanded_forms_give_keystones_page(tmp_path):
    secret, public = _expanded()
    for name, content in (("64", secret), ("96", secret + public),
                          ("h", _header(secret, public).encode())):
        f = tmp_path / name
        f.write_bytes(content)
        key = devkey.load_key(f)
        assert key.form == "keystone" and key.public == public, name
        assert key.page() == b"KSDEVK64" + secret + public
        assert devkey.device_public_key(key) == public == devkey.device_public_key(secret)


def test_a_public_key_that_is_not_the_secrets_is_refused(tmp_path):
    secret, public = _expanded()
    wrong = bytes([public[0] ^ 1]) + public[1:]
    for name, content in (("96", secret + wrong), ("h", _header(secret, wrong).encode())):
        f = tmp_path / name
        f.write_bytes(content)
        with pytest.raises(DeviceKeyError, match="is not the secret's"):
            devkey.load_key(f)


@pytest.mark.parametrize("size", [0, 31, 33, 63, 65, 95, 97, 200])
def test_other_sizes_are_refused_with_the_forms_named(tmp_path, size):
    f = tmp_path / "key"
    f.write_bytes(bytes(size))
    with pytest.raises(DeviceKeyError, match=f"{size} bytes is no device key form.*32-byte seed"):
        devkey.load_key(f)


def test_header_errors_name_the_array(tmp_path):
    secret, public = _expanded()
    f = tmp_path / "h"
    f.write_text(_header(secret, public).replace("_sanctum_dev_public_key", "other_name"))
    with pytest.raises(DeviceKeyError, match=r"no array _sanctum_dev_public_key"):
        devkey.load_key(f)
    f.write_text(_header(secret[:32], public))
    with pytest.raises(DeviceKeyError, match="must hold 64 bytes.*hold 32 and 32"):
        devkey.load_key(f)
    f.write_text(_header(secret, public).replace("0x", "zz", 1))
    with pytest.raises(DeviceKeyError, match="not a list of byte values"):
        devkey.load_key(f)


def test_the_secret_never_shows_in_repr_or_logs(tmp_path, caplog):
    secret, public = _expanded()
    f = tmp_path / "96"
    f.write_bytes(secret + public)
    caplog.set_level("DEBUG")
    key = devkey.load_key(f)
    assert secret.hex() not in repr(key) and secret.hex()[:16] not in caplog.text
    assert public.hex() in caplog.text


def test_load_secret_refuses_the_expanded_form(tmp_path):
    secret, public = _expanded()
    f = tmp_path / "96"
    f.write_bytes(secret + public)
    with pytest.raises(DeviceKeyError, match="use load_key"):
        devkey.load_secret(f)


def test_sm_hash_is_the_image_zero_padded_to_keystones_size(tmp_path):
    image = bytes(range(256)) * 7
    assert SM_HASH_SIZE == 0x1FF000
    assert firmware_hash(image) == hashlib.sha3_512(image + bytes(0x1FF000 - len(image))).digest()
    assert firmware_hash(image) != hashlib.sha3_512(image).digest()
    with pytest.raises(KeystoneError, match="more than the 0x1ff000 bytes"):
        firmware_hash(bytes(0x1FF001))


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "keystone_py", *args], capture_output=True,
                          text=True, timeout=60)


def test_cli_measure_firmware_and_its_errors(tmp_path):
    fw = tmp_path / "fw.bin"
    fw.write_bytes(b"\x13" * 100)
    res = _cli("measure", "--firmware", str(fw))
    assert res.returncode == 0, res.stderr
    assert bytes.fromhex(res.stdout.strip()) == firmware_hash(fw)
    res = _cli("measure", "--firmware", str(fw), "--loader", str(fw))
    assert res.returncode == 1 and "not both" in res.stderr
    res = _cli("measure")
    assert res.returncode == 1 and "--eapp required" in res.stderr
    res = _cli("measure", "--firmware", str(tmp_path / "missing"))
    assert res.returncode == 1 and "no such file" in res.stderr


def test_cli_attest_verify_names_a_bad_device_key_file(tmp_path):
    f = tmp_path / "any"
    f.write_bytes(bytes(16))
    bad = tmp_path / "bad.key"
    bad.write_bytes(bytes(33))
    res = _cli("attest", "verify", str(tmp_path / "r"), "--loader", str(f), "--runtime", str(f),
               "--eapp", str(f), "--device-secret", str(bad))
    assert res.returncode == 1
    # the report is read first: give it one
    (tmp_path / "r").write_bytes(bytes(1352))
    res = _cli("attest", "verify", str(tmp_path / "r"), "--loader", str(f), "--runtime", str(f),
               "--eapp", str(f), "--device-secret", str(bad))
    assert res.returncode == 1
    assert "--device-secret" in res.stderr and "33 bytes is no device key form" in res.stderr


def test_device_qemu_args_load_the_page_of_the_secret_where_the_sm_looks(tmp_path):
    """The one maker of the device-key arguments (CLI `run --eapp`, `run --host zcore`,
    the ks_run fixture): the development seed by default, a seed file when given."""
    args = devkey.device_qemu_args(tmp_path / "run")
    assert args[0] == "-device" and args[1].endswith(f",addr={devkey.DEVICE_SECRET_ADDR:#x},"
                                                      "force-raw=on")
    page = args[1].split("file=", 1)[1].split(",", 1)[0]
    assert open(page, "rb").read() == devkey.MAGIC + devkey.default_secret()
    f = tmp_path / "seed"
    f.write_bytes(SEED)
    mine = devkey.device_qemu_args(tmp_path / "run", f)
    page = mine[1].split("file=", 1)[1].split(",", 1)[0]
    assert page != args[1].split("file=", 1)[1].split(",", 1)[0]
    assert open(page, "rb").read() == devkey.MAGIC + SEED

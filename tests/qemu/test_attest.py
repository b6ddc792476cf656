"""Attestation end to end at the SM level: the conformance payload's test
enclave asks the SM for a report and a sealing key in QEMU; Python verifies
the report against offline predictions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from keystone_py.attest import ENCLAVE_REPORT, MDSIZE, Report, devkey, report_bytes_in, verify
from keystone_py.attest.ed25519_sha3 import public_key
from keystone_py.attest.measure import firmware_hash, predict
from keystone_py.contract import PAYLOAD_DONE, SM_BANNER

SECRET = bytes(range(100, 132))


def _boot(machine_factory, tmp_path: Path, name: str, secret: bytes | None) -> str:
    extra = devkey.qemu_args(devkey.write_page(tmp_path / f"{name}.key", secret)) if secret else []
    with machine_factory(name=name, smp=1, extra_args=extra) as m:
        m.expect(SM_BANNER, timeout=20)
        m.expect(PAYLOAD_DONE, timeout=180)
        assert m.wait_exit(timeout=30) == 0
    return m.console_text


def _raw(console: str) -> bytes:
    raw = report_bytes_in(console)
    assert raw, "the payload printed no report"
    return raw


def _report(console: str) -> Report:
    return Report.parse(_raw(console))


def _test_enclave_image(payload_elf: Path) -> bytes:
    elf = ELFFile(open(payload_elf, "rb"))
    symtab = elf.get_section_by_name(".symtab")
    start = symtab.get_symbol_by_name("test_enclave_start")[0]["st_value"]
    end = symtab.get_symbol_by_name("test_enclave_end")[0]["st_value"]
    for seg in elf.iter_segments():
        base = seg["p_vaddr"]
        if seg["p_type"] == "PT_LOAD" and base <= start < base + seg["p_filesz"]:
            return seg.data()[start - base:end - base]
    raise AssertionError("test enclave not in a loadable segment")


def _prediction(image: bytes) -> bytes:
    # The payload lays the test enclave out as loader page, then one zero
    # page each for "runtime" and "eapp" (payload/src/enclaves.rs).
    return predict(image, bytes(4096), bytes(4096))


@pytest.fixture
def run(machine_factory, tmp_path):
    return _boot(machine_factory, tmp_path, "attest", SECRET)


@pytest.fixture
def image(ks_paths):
    return _test_enclave_image(ks_paths.payload_elf)


def test_report_from_qemu_verifies_against_offline_predictions(run, image, ks_paths):
    verdict = verify(_report(run), device_public_key=public_key(SECRET),
                     enclave_hash=_prediction(image), sm_hash=firmware_hash(ks_paths.sm_bin),
                     nonce=b"nonce")
    assert verdict.ok, str(verdict)


def test_sm_hash_is_the_hash_of_the_firmware_file(run, ks_paths):
    assert _report(run).sm_hash == firmware_hash(ks_paths.sm_bin)


def test_one_byte_change_in_the_enclave_changes_the_prediction_and_fails(run, image):
    changed = bytearray(image)
    changed[-1] ^= 0x01
    assert _prediction(bytes(changed)) != _prediction(image)
    verdict = verify(_report(run), device_public_key=public_key(SECRET),
                     enclave_hash=_prediction(bytes(changed)))
    assert not verdict.ok


def test_flipping_any_signed_byte_of_the_report_fails(run):
    raw = bytearray(_raw(run))
    data_len = int.from_bytes(raw[MDSIZE:MDSIZE + 8], "little")
    signed = [*range(0, MDSIZE + 8 + data_len),              # enclave hash, length, data
              *range(MDSIZE + 8 + 1024, ENCLAVE_REPORT),      # enclave signature
              *range(ENCLAVE_REPORT, ENCLAVE_REPORT + 160)]   # SM hash, key, signature
    for i in signed:
        tampered = bytearray(raw)
        tampered[i] ^= 0x01
        try:
            report = Report.parse(bytes(tampered))
        except ValueError:
            continue  # a length byte flipped past the data limit: refused outright
        assert not verify(report, device_public_key=public_key(SECRET)).ok, f"byte {i}"


def test_wrong_nonce_fails(run):
    verdict = verify(_report(run), device_public_key=public_key(SECRET), nonce=b"nonsense")
    assert not verdict.ok and "nonce" in str(verdict)


def test_wrong_device_public_key_fails(run):
    assert not verify(_report(run), device_public_key=public_key(bytes(32))).ok


def test_device_secret_comes_from_the_platform(run):
    assert _report(run).device_public_key == devkey.device_public_key(SECRET)


def test_sealing_key_is_identical_across_boots(machine_factory, tmp_path):
    keys = [re.search(r"^# sealing identifier ([0-9a-f]+)", _boot(machine_factory, tmp_path,
                                                                  f"seal{i}", SECRET), re.M)
            for i in range(2)]
    assert keys[0] and keys[1]
    assert keys[0].group(1) == keys[1].group(1)


def test_sealing_key_depends_on_the_device_secret(machine_factory, tmp_path):
    a = _boot(machine_factory, tmp_path, "secret-a", SECRET)
    b = _boot(machine_factory, tmp_path, "secret-b", bytes(32 * [7]))
    pattern = r"^# sealing identifier ([0-9a-f]+)"
    assert re.search(pattern, a, re.M).group(1) != re.search(pattern, b, re.M).group(1)


def _cli(*args: str, cwd: Path):
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "keystone_py", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def _files(tmp_path: Path, image: bytes) -> list[str]:
    loader, runtime, eapp = tmp_path / "loader.bin", tmp_path / "runtime", tmp_path / "eapp"
    loader.write_bytes(image)
    runtime.write_bytes(bytes(4096))
    eapp.write_bytes(bytes(4096))
    return ["--loader", str(loader), "--runtime", str(runtime), "--eapp", str(eapp)]


def test_cli_measure_prints_the_hash_the_sm_reports(run, image, ks_paths, tmp_path):
    res = _cli("measure", *_files(tmp_path, image), cwd=ks_paths.root)
    assert res.returncode == 0, res.stderr
    assert bytes.fromhex(res.stdout.strip()) == _report(run).enclave_hash


def test_cli_attest_verify_accepts_the_report_and_rejects_a_wrong_nonce(run, image, ks_paths,
                                                                        tmp_path):
    report = tmp_path / "report.hex"
    report.write_text(_raw(run).hex())
    secret = tmp_path / "device.secret"
    secret.write_bytes(SECRET)
    common = ["attest", "verify", str(report), *_files(tmp_path, image),
              "--firmware", str(ks_paths.sm_bin), "--device-secret", str(secret)]
    good = _cli(*common, "--nonce", "nonce", cwd=ks_paths.root)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "verdict: VALID" in good.stdout
    bad = _cli(*common, "--nonce", "nonsense", cwd=ks_paths.root)
    assert bad.returncode == 1
    assert "FAIL report data is the nonce" in bad.stdout and "INVALID" in bad.stdout

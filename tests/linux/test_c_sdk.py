"""The C eapp SDK on Linux: Keystone's test eapps written in C against its eapp
API (examples/c) build with `build --app` and return Keystone's values on our
runtime, in one boot; the C attestation eapp's report verifies."""

from __future__ import annotations

from pathlib import Path

import pytest

from keystone_py.attest import Report, devkey, predict, report_bytes_in, verify
from keystone_py.attest.measure import firmware_hash
from keystone_py.build.userapp import build_app
from keystone_py.qemu.userrun import parse_returned

from .guests import overlay_guest

REPO = Path(__file__).resolve().parents[2]
#: Keystone's expected values (examples/tests), and the ocalls each makes.
EXPECTED = {"stack": (12345, 0), "loop": (54321, 0), "malloc": (11411, 0),
            "long-nop": (12345, 0), "fibonacci": (14930352, 0), "untrusted": (13, 5),
            "attestation": (0, 1), "data-sealing": (0, 1)}


@pytest.fixture(scope="module")
def c_eapps():
    return {name: build_app(REPO / "examples/c" / name).eapp() for name in EXPECTED}


@pytest.fixture(scope="module")
def runs(c_eapps, ks_paths, ks_linux, ks_enclave, tmp_path_factory):
    """Every C eapp through test-runner, in one boot (with the development device secret)."""
    files = {f"user/eapp/{name}": path for name, path in c_eapps.items()}
    out = {}
    with overlay_guest(ks_paths, ks_linux, ks_enclave, files,
                       tmp_path_factory.mktemp("c-sdk")) as guest:
        for name in EXPECTED:
            out[name] = guest.run(f"/bin/test-runner /user/eapp/{name} /enclave/eyrie-rt "
                                  f"/enclave/loader.bin --retval {EXPECTED[name][0]}", 600)
    return out


@pytest.mark.parametrize("name", list(EXPECTED))
def test_c_eapp_returns_keystones_value(runs, name):
    run = runs[name]
    value, stats = parse_returned(run.output)
    assert run.status == 0, str(run)
    assert value == EXPECTED[name][0], str(run)
    assert stats["ocalls"] == EXPECTED[name][1], str(run)


def test_untrusted_talks_both_ways(runs):
    """Prints through the host, reads the host's string with copy_from_shared and
    counts its 'l's (test-runner's string holds 20)."""
    lines = [ln.strip() for ln in runs["untrusted"].lines]
    assert lines[:4] == ["Enclave said: hello world!", "Enclave said: 2nd hello world!",
                         "Enclave said value: 13", "Enclave said value: 20"], lines


def test_data_sealing_derives_its_key(runs):
    assert "Enclave said: Sealing key derivation successful!" in runs["data-sealing"].output


def test_c_attestation_report_verifies(runs, c_eapps, ks_paths, ks_enclave):
    raw = report_bytes_in(runs["attestation"].output)
    assert raw, str(runs["attestation"])
    verdict = verify(Report.parse(raw),
                     device_public_key=devkey.device_public_key(devkey.load_secret(None)),
                     enclave_hash=predict(ks_enclave.loader_bin, ks_enclave.runtime_elf,
                                          c_eapps["attestation"]),
                     sm_hash=firmware_hash(ks_paths.sm_bin), nonce=b"nonce")
    assert verdict.ok, str(verdict)

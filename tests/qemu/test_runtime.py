"""The Eyrie-compatible runtime runs Keystone's test eapps, with the conformance
payload as their host (``-append runtime``).

QEMU's loader device puts ``loader.bin``, the ``eyrie-rt`` ELF and each eapp
ELF in DRAM as raw files at ``FILES_BASE`` (1 MiB apart); the bootargs name
them (``ksfile=NAME,ADDR,SIZE``). The payload lays them out in an EPM as
Keystone's host SDK does, runs each eapp, serves its ocalls, and prints one TAP
line per check. Keystone's own expectations (docs/abi.md §9): stack 12345,
loop 54321, malloc 11411, long-nop 12345, fibonacci 14930352, untrusted 13 with
four "Enclave said" lines; ours besides: hello prints through the proxied
write, a faulting eapp and a bad syscall pointer each end their enclave with
the runtime's error code while the next enclave still runs.
"""

import re
from pathlib import Path

import pytest

from keystone_py.attest import Report, devkey, report_bytes_in, verify
from keystone_py.attest.ed25519_sha3 import public_key
from keystone_py.attest.measure import firmware_hash, predict
from keystone_py.contract import NOT_OK, PAYLOAD_DONE, PLAN, SM_BANNER
from keystone_py.qemu.payload import runtime_args, runtime_files
from keystone_py.tap import parse_tap

#: The device secret QEMU hands the SM (a test key).
SECRET = bytes(range(7, 39))

#: Exit codes from sdk/abi (eyrie::exit_code).
FAULT_BASE = 0xFA17_0000
LOAD_PAGE_FAULT = 13
ILLEGAL_INSTRUCTION = 2
BAD_POINTER = 0xFA17_0100

#: Run order: the misbehaving eapps sit between good ones, so each is followed
#: by an enclave that must still run.
EAPPS = ("stack", "fault", "loop", "bad-pointer", "malloc", "illegal", "long-nop", "fibonacci",
         "untrusted", "attestation", "data-sealing", "edge-checks", "hello")

EXPECTED = {
    "stack": 12345,
    "loop": 54321,
    "malloc": 11411,
    "long-nop": 12345,
    "fibonacci": 14930352,
    "untrusted": 13,
    "attestation": 0,
    "data-sealing": 0,
    "edge-checks": 0,
    "hello": 0,
    "fault": FAULT_BASE + LOAD_PAGE_FAULT,
    "illegal": FAULT_BASE + ILLEGAL_INSTRUCTION,
    "bad-pointer": BAD_POINTER,
}

UNTRUSTED_LINES = [
    "Enclave said: hello world!",
    "Enclave said: 2nd hello world!",
    "Enclave said value: 13",
    "Enclave said value: 20",
]


@pytest.fixture(scope="module")
def enclave_files(ks_enclave):
    return runtime_files(ks_enclave, EAPPS)


def _boot(machine_factory, enclave_files, tmp_path: Path):
    extra, append = runtime_args(enclave_files)
    extra += devkey.qemu_args(devkey.write_page(tmp_path / "device.key", SECRET))
    with machine_factory(name="runtime", smp=1, extra_args=extra, append=append) as m:
        m.expect(SM_BANNER, timeout=20)
        m.expect(PLAN, fail=[NOT_OK], timeout=300)
        m.expect(PAYLOAD_DONE, timeout=10)
        status = m.wait_exit(timeout=20)
    return m.console_text, status


def test_eapps_run_to_keystone_values_with_payload_as_host(machine_factory, enclave_files,
                                                          tmp_path, ks_paths):
    text, status = _boot(machine_factory, enclave_files, tmp_path)
    report = parse_tap(text)
    assert not report.failed, report.summary()
    results = {}
    for line in text.splitlines():
        hit = re.match(r"ok \d+ - eapp (\S+) returns (\d+) \(interrupts (\d+), ocalls (\d+)\)",
                       line.strip())
        if hit:
            results[hit.group(1)] = tuple(int(x) for x in hit.group(2, 3, 4))
    assert list(results) == list(EAPPS), text[-3000:]
    for name, want in EXPECTED.items():
        assert results[name][0] == want, (name, results[name])
    assert results["loop"][1] >= 10 and results["fibonacci"][1] >= 10, results
    assert results["untrusted"][2] == 5, results
    lines = [ln.strip() for ln in text.splitlines()]
    pos = [lines.index(want) for want in UNTRUSTED_LINES]
    assert pos == sorted(pos), pos
    assert "hello, world!" in lines
    assert "Enclave said: Sealing key derivation successful!" in lines
    # The attestation eapp's report: signed by the SM, whose key the device
    # key vouches for, over the measurement Python predicts from the three
    # files exactly as the payload laid them out, and carrying the nonce.
    files = dict(enclave_files)
    raw = report_bytes_in(text)
    assert raw, "the host printed no report"
    verdict = verify(Report.parse(raw),
                     device_public_key=public_key(SECRET),
                     enclave_hash=predict(Path(files["loader"]), Path(files["runtime"]),
                                          Path(files["attestation"])),
                     sm_hash=firmware_hash(ks_paths.sm_bin), nonce=b"nonce")
    assert verdict.ok, str(verdict)
    assert report.complete and report.all_ok, report.summary()
    assert status == 0

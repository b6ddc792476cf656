"""What the enclave tests assert whichever host OS runs them (Linux in
``tests/linux``, zCore in ``tests/zcore``): the same host programs print the same
lines on both, so the expectations and their parsers live here once."""

from __future__ import annotations

import re

from keystone_py.attest import Report, report_bytes_in, verify
from keystone_py.attest.ed25519_sha3 import public_key
from keystone_py.attest.measure import firmware_hash, predict
from keystone_py.qemu.guest import GuestRun, LinuxGuest

#: The device secret QEMU hands the SM (a test key).
SECRET = bytes(range(3, 35))
RUNTIME_ARGS = "/enclave/eyrie-rt /enclave/loader.bin"
RUNNER = re.compile(r"^test-runner: (?P<name>\S+) returned (?P<value>\d+) \(interrupts "
                    r"(?P<interrupts>\d+), ocalls (?P<ocalls>\d+), create (?P<create>\d+) us, "
                    r"run (?P<run>\d+) us\)$", re.M)

#: docs/abi.md §9: eapp, --retval, lines its host prints (in order).
KEYSTONE_TESTS = [
    ("stack", 12345, []),
    ("loop", 54321, []),
    ("malloc", 11411, []),
    ("long-nop", 12345, []),
    ("fibonacci", 14930352, []),
    ("untrusted", 13, ["Enclave said: hello world!", "Enclave said: 2nd hello world!",
                       "Enclave said value: 13", "Enclave said value: 20"]),
    ("data-sealing", 0, ["Enclave said: Sealing key derivation successful!"]),
    ("attestation", 0, ["Attestation report data: nonce"]),
    ("hello", 0, ["hello, world!"]),
]


def runner(guest: LinuxGuest, eapp: str, extra: str = "", timeout: float = 300) -> GuestRun:
    return guest.run(f"/bin/test-runner /enclave/{eapp} {RUNTIME_ARGS} {extra}".strip(), timeout)


def figures(run: GuestRun) -> dict:
    m = RUNNER.search(run.output)
    assert m, str(run)
    return {k: (v if k == "name" else int(v)) for k, v in m.groupdict().items()}


def check_attestation_report(run: GuestRun, ks_paths) -> None:
    """The report the host printed: the SM signed the measurement Python
    predicts from the three files (as the SDK laid them out), the device key
    signed the SM, and it carries the nonce. (The zCore suite checks its host's.)"""
    raw = report_bytes_in(run.output)
    assert raw, str(run)
    art = ks_paths.artifacts
    verdict = verify(Report.parse(raw),
                     device_public_key=public_key(SECRET),
                     enclave_hash=predict(art.loader_bin, art.runtime_elf,
                                          art.eapp("attestation")),
                     sm_hash=firmware_hash(ks_paths.sm_bin), nonce=b"nonce")
    assert verdict.ok, str(verdict)


def check_attestor_report(run: GuestRun, ks_paths) -> None:
    """The attestor host picked a random nonce, the enclave attested to it and
    returned the report over an ocall; Python verifies the whole chain."""
    assert run.status == 0, str(run)
    nonce = bytes.fromhex(re.search(r"^attestor: nonce ([0-9a-f]{64})$", run.output, re.M)
                          .group(1))
    raw = report_bytes_in(run.output)
    assert raw, str(run)
    art = ks_paths.artifacts
    expected = predict(art.loader_bin, art.runtime_elf, art.eapp("attestor"))
    verdict = verify(Report.parse(raw), device_public_key=public_key(SECRET),
                     enclave_hash=expected, sm_hash=firmware_hash(ks_paths.sm_bin), nonce=nonce)
    assert verdict.ok, str(verdict)
    assert not verify(Report.parse(raw), device_public_key=public_key(SECRET),
                      nonce=bytes(32)).ok


def check_kill_gave_everything_back(run: GuestRun) -> None:
    """``ks-demo kill``: the host app was killed while its enclave ran; a full-size
    enclave ran right after and the SM's free slots are what they were."""
    assert run.status == 0, str(run)
    assert "host app was running its enclave when killed" in run.output
    assert re.search(r"a full-size enclave \(0x[0-9a-f]+ bytes at 0x[0-9a-f]+\) ran right after: "
                     r"returned 12345", run.output), str(run)
    before = re.search(r"kill: (\d+) enclave slots before", run.output)
    after = re.search(r"kill: (\d+) enclave slots after", run.output)
    assert before and after and before.group(1) == after.group(1) and int(before.group(1)) > 0


#: ``ks-demo switchless``'s report line: what the eapp and the host each counted.
CALLS = re.compile(
    r"^switchless: (?P<kind>\S+): exit (?P<exit>0x[0-9a-f]+); eapp: switchless (?P<sw>\d+) "
    r"ordinary (?P<ord>\d+) unclaimed (?P<unclaimed>\d+) waited (?P<waited>\d+) \(asked "
    r"(?P<asked>\d+)\) protocol (?P<protocol>\d+) wrong (?P<wrong>\d+) status (?P<status>\d+); "
    r"host: workers served (?P<by_workers>\d+) run loop served (?P<by_loop>\d+) \(switchless "
    r"(?P<host_sw>\d+), ordinary stops (?P<stops>\d+), waits (?P<host_waits>\d+), interrupts "
    r"(?P<irq>\d+)\), ran (?P<ms>\d+) ms, lost (?P<lost>\d+) duplicated (?P<dup>\d+)$", re.M)


def parse_calls(line: str) -> dict:
    """The figures of one CALLS report line (asserted to be one)."""
    m = CALLS.search(line)
    assert m, line
    return {k: (v if k == "kind" else int(v, 0)) for k, v in m.groupdict().items()}


def assert_both_ends_agree(got: dict, n: int) -> None:
    """An honest host's run of CALLS: each of the n calls answered once,
    right, by the path both ends say it took, and never failed."""
    # Every answer was checked by the eapp (request + 1); none failed.
    assert got["wrong"] == got["status"] == got["protocol"] == 0, got
    assert got["sw"] + got["ord"] == n, got
    # The worker threads served exactly the calls the eapp saw answered
    # through the ring; the run loop exactly those it sent the ordinary way,
    # each one a request no worker had taken (withdrawn with the CAS).
    assert got["by_workers"] == got["sw"] == got["host_sw"], got
    assert got["by_loop"] == got["ord"] == got["unclaimed"], got
    # The eapp asked the run loop to wait exactly as often as the run loop
    # served such a request; a waited-for call asked at least once.
    assert got["asked"] == got["host_waits"] >= got["waited"], got
    assert got["waited"] <= got["sw"], got
    # MODE and REPORT are ordinary ocalls; so are the fallbacks and the waits.
    assert got["stops"] == got["ord"] + got["asked"] + 2, got
    # The host's handler saw each request 0..n exactly once.
    assert got["lost"] == got["dup"] == 0, got

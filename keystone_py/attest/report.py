"""Parse and verify attestation reports (README, "Attestation and sealing").

A report (1352 bytes) carries the enclave's hash, its data (≤ 1024 bytes) and
the SM's signature over them; the SM's hash, public key and the device's
signature over those; and the device public key. ``verify`` checks both
signatures (Ed25519 with SHA3-512) and compares every field with what the
verifier expects, returning one verdict line per check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from .. import abi
from ..errors import ReportError
from .ed25519_sha3 import verify as ed_verify

MDSIZE, PK, SIG = 64, 32, 64
DATA_MAX = abi.ATTEST_DATA_MAX
ENCLAVE_REPORT = abi.ENCLAVE_REPORT_SIZE
SM_REPORT = abi.SM_REPORT_SIZE
REPORT_SIZE = abi.REPORT_SIZE
assert ENCLAVE_REPORT == MDSIZE + 8 + DATA_MAX + SIG and SM_REPORT == MDSIZE + PK + SIG


#: How hosts print a report for a verifier: ``# report <hex>`` on its own line
#: (the conformance payload, the payload runtime host, the Linux host apps).
REPORT_LINE = re.compile(r"^# report ([0-9a-f]+)", re.MULTILINE)


def report_bytes_in(console: str) -> Optional[bytes]:
    """The raw bytes of the first ``# report`` line in ``console``, if any."""
    found = REPORT_LINE.search(console)
    return bytes.fromhex(found.group(1)) if found else None


@dataclass(frozen=True)
class Report:
    enclave_hash: bytes
    data: bytes
    enclave_signature: bytes
    sm_hash: bytes
    sm_public_key: bytes
    sm_signature: bytes
    device_public_key: bytes

    @classmethod
    def parse(cls, raw: bytes) -> "Report":
        """Splits a 1352-byte report into its fields."""
        if len(raw) != REPORT_SIZE:
            raise ReportError(f"a report is {REPORT_SIZE} bytes, got {len(raw)}")
        data_len = int.from_bytes(raw[MDSIZE:MDSIZE + 8], "little")
        if data_len > DATA_MAX:
            raise ReportError(f"data length {data_len} exceeds {DATA_MAX}")
        off = MDSIZE + 8
        sm = ENCLAVE_REPORT
        return cls(
            enclave_hash=raw[:MDSIZE],
            data=raw[off:off + data_len],
            enclave_signature=raw[off + DATA_MAX:off + DATA_MAX + SIG],
            sm_hash=raw[sm:sm + MDSIZE],
            sm_public_key=raw[sm + MDSIZE:sm + MDSIZE + PK],
            sm_signature=raw[sm + MDSIZE + PK:sm + SM_REPORT],
            device_public_key=raw[sm + SM_REPORT:],
        )


@dataclass
class Verdict:
    checks: List[Tuple[str, bool, str]] = field(default_factory=list)

    def add(self, name: str, ok: bool, detail: str = "") -> None:
        self.checks.append((name, ok, detail))

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(ok for _, ok, _ in self.checks)

    def __str__(self) -> str:
        lines = [f"{'ok  ' if ok else 'FAIL'} {name}{': ' + d if d else ''}"
                 for name, ok, d in self.checks]
        lines.append("verdict: " + ("VALID" if self.ok else "INVALID"))
        return "\n".join(lines)


def verify(report: Report, *, device_public_key: bytes,
           enclave_hash: Optional[bytes] = None, sm_hash: Optional[bytes] = None,
           nonce: Optional[bytes] = None) -> Verdict:
    """Checks the signature chain against a trusted device key, then each
    expected value given. The device key in the report itself is never trusted."""
    v = Verdict()
    v.add("device public key is the trusted one", report.device_public_key == device_public_key,
          "" if report.device_public_key == device_public_key
          else f"report has {report.device_public_key.hex()[:16]}..")
    v.add("SM signature (device key over SM hash ‖ SM public key)",
          ed_verify(device_public_key, report.sm_hash + report.sm_public_key, report.sm_signature))
    signed = report.enclave_hash + len(report.data).to_bytes(8, "little") + report.data
    v.add("enclave signature (SM key over enclave hash ‖ data)",
          ed_verify(report.sm_public_key, signed, report.enclave_signature))
    if enclave_hash is not None:
        v.add("enclave hash matches the prediction", report.enclave_hash == enclave_hash,
              f"report {report.enclave_hash.hex()[:16]}.., expected {enclave_hash.hex()[:16]}..")
    if sm_hash is not None:
        v.add("SM hash matches the firmware", report.sm_hash == sm_hash,
              f"report {report.sm_hash.hex()[:16]}.., expected {sm_hash.hex()[:16]}..")
    if nonce is not None:
        v.add("report data is the nonce", report.data == nonce,
              f"report data {report.data!r}")
    return v

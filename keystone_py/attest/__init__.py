"""Attestation: reports, the signature scheme, measurements and the device key.

* :mod:`.report` – parse and verify reports (README, "Attestation and sealing");
* :mod:`.measure` – predict an enclave's measurement (and the SM's hash) offline;
* :mod:`.ed25519_sha3` – Ed25519 with SHA3-512, on PyNaCl's point operations;
* :mod:`.devkey` – the (development) device secret QEMU hands the SM.
"""

from .measure import firmware_hash, measure_layout, predict
from .report import (
    ENCLAVE_REPORT,
    MDSIZE,
    REPORT_SIZE,
    Report,
    ReportError,
    Verdict,
    report_bytes_in,
    verify,
)

__all__ = ["ENCLAVE_REPORT", "MDSIZE", "REPORT_SIZE", "Report", "ReportError", "Verdict",
           "firmware_hash", "measure_layout", "predict", "report_bytes_in", "verify"]

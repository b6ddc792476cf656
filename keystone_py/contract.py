"""What the firmware and the conformance payload print: the console contract.

Tests, the CLI and the pytest plugin all match these, so they live once here.
"""

#: The SM's banner, e.g. ``keystone-rs SM v0.1.0``.
SM_BANNER = r"keystone-rs SM v(\d+)\.(\d+)\.(\d+)"
#: An SM panic: the run has failed (QEMU then exits non-zero).
SM_PANIC = r"SM PANIC[^\n]*"
#: Debian's OpenSBI banner (reference firmware).
OPENSBI_BANNER = r"OpenSBI v\d+\.\d+"
#: The payload's TAP plan line, printed after every result line.
PLAN = r"^1\.\.(\d+)\s*$"
#: The payload's summary line, printed just before it shuts down.
PAYLOAD_DONE = r"payload: done \(passed (\d+), failed (\d+)\)"
#: Printed by the payload when booted with ``-append hang``; it then spins.
PAYLOAD_HANG = r"payload: hang requested"
#: A failed conformance check.
NOT_OK = r"^not ok \d+[^\n]*"

#: Lines that end any wait at once, whatever is being waited for.
FAIL_PATTERNS = (SM_PANIC,)

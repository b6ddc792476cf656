"""Every exception keystone_py raises, in one place.

Each error carries a human message that says what went wrong and, where there
is one, the fix. The CLI prints ``str(error)`` and exits 1, without traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence


class KeystoneError(Exception):
    """Base class of every keystone_py error."""


class ToolchainError(KeystoneError):
    """A tool the project needs is missing or unusable."""


class BuildError(KeystoneError):
    """A build step (cargo, objcopy) failed."""


class MachineError(KeystoneError):
    """Base class of errors about a running QEMU machine."""


class MachineLaunchError(MachineError):
    """QEMU did not come up (it exited at once or its sockets never appeared)."""

    def __init__(self, reason: str, argv: Sequence[str], exitcode: Optional[int],
                 output: str, log_dir: Optional[Path] = None):
        self.argv = list(argv)
        self.exitcode = exitcode
        self.output = output
        self.log_dir = log_dir
        msg = [f"QEMU failed to launch: {reason}",
               f"  exit code: {exitcode}",
               f"  command:   {' '.join(self.argv)}"]
        if output.strip():
            msg.append("  output:")
            msg.extend(f"    {line}" for line in output.strip().splitlines()[-20:])
        if log_dir:
            msg.append(f"  logs:      {log_dir}")
        super().__init__("\n".join(msg))


class ConsoleError(MachineError):
    """Base class of errors seen while waiting on the console."""

    def __init__(self, headline: str, pattern: str, tail: Sequence[str],
                 log_path: Optional[Path]):
        self.pattern = pattern
        self.tail = list(tail)
        self.log_path = log_path
        msg = [headline, f"  waiting for: {pattern}",
               f"  last {len(self.tail)} console lines:"]
        msg.extend(f"    | {line}" for line in self.tail)
        if not self.tail:
            msg.append("    (no console output)")
        msg.append(f"  console log: {log_path}")
        super().__init__("\n".join(msg))


class ConsoleTimeout(ConsoleError):
    """The wanted pattern did not appear before the deadline."""

    def __init__(self, pattern: str, timeout: float, tail: Sequence[str],
                 log_path: Optional[Path]):
        self.timeout = timeout
        super().__init__(f"console timeout after {timeout:.1f}s", pattern, tail, log_path)


class ConsoleFailure(ConsoleError):
    """A failure pattern (e.g. ``SM PANIC``) matched before the wanted one."""

    def __init__(self, pattern: str, fail_pattern: str, matched: str,
                 tail: Sequence[str], log_path: Optional[Path]):
        self.fail_pattern = fail_pattern
        self.matched = matched
        super().__init__(f"console failure: {matched!r} (fail pattern: {fail_pattern})",
                         pattern, tail, log_path)


class MachineExited(ConsoleError):
    """QEMU exited (console closed) before the wanted pattern appeared."""

    def __init__(self, pattern: str, exitcode: Optional[int], tail: Sequence[str],
                 log_path: Optional[Path]):
        self.exitcode = exitcode
        super().__init__(f"QEMU exited with status {exitcode} before the pattern appeared",
                         pattern, tail, log_path)


class MachineShutdownError(MachineError):
    """QEMU had to be killed: it ignored QMP ``quit`` and SIGTERM within the grace
    time. Raised by :meth:`~keystone_py.qemu.Machine.shutdown` once the process is
    gone and every file is closed (so nothing is left behind either way)."""

    def __init__(self, name: str, pid: int, grace: float, log_dir: Optional[Path]):
        self.name = name
        self.pid = pid
        self.grace = grace
        self.log_dir = log_dir
        super().__init__(f"QEMU {name} (pid {pid}) ignored QMP quit and SIGTERM for {grace:.1f}s "
                         f"each and was killed (SIGKILL); logs in {log_dir}")


class QMPError(MachineError):
    """QEMU answered a QMP command with an error, or the QMP socket broke."""


class GdbError(KeystoneError):
    """GDB reported an error, or did not answer in time."""


class ElfError(KeystoneError):
    """An ELF file lacks what was asked of it (a symbol, a segment)."""


class RemoteError(KeystoneError):
    """An SSH target failed: connection, authentication, transfer or command."""


class ReportError(KeystoneError, ValueError):
    """The bytes are not an attestation report (also a ValueError, as before)."""


class DeviceKeyError(KeystoneError, ValueError):
    """A device key file is not in a form the SM takes, or its halves disagree."""

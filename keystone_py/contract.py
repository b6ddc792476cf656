"""What the firmware and the conformance payload print: the console contract.

Tests, the CLI and the pytest plugin all match these, so they live once here.
"""

import re

#: The SM's banner, e.g. ``keystone-rs SM v0.1.0``.
SM_BANNER = r"keystone-rs SM v(\d+)\.(\d+)\.(\d+)"
#: The SM's boot line naming the device key form it was given (sm_rs/src/boot.rs).
SM_DEVICE_KEY = (r"SM: device key: (?P<form>32-byte seed|Keystone form)[^\n]*"
                 r"|SM: WARNING: (?P<warning>no device secret|the device key page)[^\n]*")
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

# -- the Linux guest (linux_host/init/init.c) -------------------------------------------
#: /init's marker: CPUs Linux brought online and the time CSR (10 MHz) when it ran,
#: or ``time unreadable (...)`` when U-mode may not read the time CSR.
#: (Patterns a console wait uses end with the newline: "time 67" must not match
#: while "time 676087" is still arriving.)
INIT_READY = r"keystone-init: ready, (\d+) cpus online, time (\d+|unreadable[^\r\n]*)\r?\n"
#: /init's prompt on the console, printed whenever it waits for a command.
INIT_PROMPT = "ks> "

#: One kernel log line (``[    0.673412] hrtimer: interrupt took 3869100 ns``). On a
#: busy machine Linux prints one in the middle of a line /init is writing, so the
#: waits below allow one between any two characters; :func:`without_kernel_lines`
#: takes them out again before the line is parsed.
KERNEL_LINE = r"\[\s*\d+\.\d+\][^\n]*\n"


def _spliceable(literal: str) -> str:
    """A pattern for ``literal`` that still matches with kernel lines inside it."""
    return f"(?:{KERNEL_LINE})*".join(re.escape(c) for c in literal)


def without_kernel_lines(text: str) -> str:
    """``text`` with every kernel log line taken out, wherever it started."""
    return re.sub(KERNEL_LINE, "", text)


_DIGITS = rf"(?:\d|{KERNEL_LINE})+"
#: :data:`INIT_READY` as the console shows it: kernel lines may be spliced in.
INIT_READY_ON_CONSOLE = (_spliceable("keystone-init: ready, ") + f"({_DIGITS})"
                         + _spliceable(" cpus online, time ")
                         + f"({_DIGITS}|" + _spliceable("unreadable")
                         + rf"(?:{KERNEL_LINE}|[^\r\n])*)\r?\n")
#: :data:`INIT_PROMPT` as the console shows it.
INIT_PROMPT_ON_CONSOLE = _spliceable(INIT_PROMPT)
#: /init's answer to ``cpus``.
INIT_CPUS = r"cpus online: (\d+)\r?\n"
#: /init's answer to ``peek ADDR``: ``value 0x…``, ``fault (signal N)`` or an error
#: (parsed from a command's whole answer, see guest.LinuxGuest.command).
INIT_PEEK = (r"peek (?P<addr>\S+): (?:value (?P<value>0x[0-9a-f]+)|fault \(signal (?P<signal>\d+)\)"
             r"|(?P<error>(?:mmap refused|cannot open)[^\n]*))")
#: /init's answer to a command it does not know.
INIT_UNKNOWN = r"init: unknown command '([^'\n]*)'[^\n]*"
#: Linux gave up: the run has failed.
KERNEL_PANIC = r"Kernel panic - not syncing[^\n]*"
#: Linux's last words before the SBI power-off.
KERNEL_POWER_DOWN = r"reboot: Power down"

#: A kernel oops, BUG or bad access: the run has failed even if Linux goes on.
KERNEL_OOPS = r"(Oops( -|:)|kernel BUG at|BUG: [^\n]*|Unable to handle kernel[^\n]*)"
#: /init's report when a program it ran ends (``run PROG ...``).
INIT_RUN_STATUS = (r"^(?P<prog>\S+): (?:exit status (?P<status>\d+)"
                   r"|killed by signal (?P<signal>\d+))\r?$")

#: Lines that end any wait on a Linux guest at once.
LINUX_FAIL_PATTERNS = (SM_PANIC, KERNEL_PANIC, KERNEL_OOPS)

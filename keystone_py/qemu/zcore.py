"""zCore as the host OS: its command line, its machine, its root process.

zCore (``build/zcore.bin``, :mod:`keystone_py.build.zcore`) boots as the S-mode
kernel at 0x80200000 on the chosen firmware (ours by default), mounts the rcore-fs
SFS image given as ``-initrd`` as its root, and runs one root process named on its
command line: ``LOG=warn:ROOTPROC=/bin/hello?arg1?arg2`` (options are separated by
``:``, the program's words by ``?``). zCore does not power off when that process
ends; the caller stops QEMU once it has seen what it waits for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Sequence, Tuple

from ..contract import SM_PANIC
from ..errors import KeystoneError
from .argv import Icount
from .guest import GuestRun, LinuxGuest
from .machine import Machine

#: zCore's line once its boot page table is on (before the device tree is read).
ZCORE_BOOTED = r"boot page table launched"
#: A zCore kernel panic (``panic cpu=N`` then ``panicked at FILE:LINE``).
ZCORE_PANIC = r"panicked at [^\r\n]+"
#: A user page fault zCore could not resolve (it kills the process).
ZCORE_USER_FAULT = r"failed to handle page fault from user mode[^\r\n]*"
ZCORE_FAIL_PATTERNS = (SM_PANIC, ZCORE_PANIC)
#: zCore's log levels (``LOG=``).
LOG_LEVELS = ("off", "error", "warn", "info", "debug", "trace")
#: As the Linux guests: room for a 64 MiB EPM (48 MiB of free memory, Keystone's tests) beside
#: zCore, its root image and programs.
ZCORE_MEMORY = "512M"


def zcore_cmdline(argv: Sequence[str], log: str = "warn") -> str:
    """zCore's command line that runs ``argv`` as the root process with log
    level ``log``. KeystoneError for a word zCore cannot carry (``:``, ``?``,
    spaces or an empty word) or an unknown level."""
    if not argv:
        raise KeystoneError("zcore: the root process needs a program path (e.g. /bin/hello).")
    if log not in LOG_LEVELS:
        raise KeystoneError(f"zcore: log level {log!r} is not one of {', '.join(LOG_LEVELS)}.")
    for word in argv:
        if not word or any(c in word for c in ":? \t\r\n"):
            raise KeystoneError(f"zcore: the root process's word {word!r} cannot be passed on "
                                "zCore's command line (no ':', '?', spaces or empty words).")
    if not argv[0].startswith("/"):
        raise KeystoneError(f"zcore: the root process {argv[0]!r} must be an absolute path in "
                            "the root image (e.g. /bin/hello).")
    return f"LOG={log}:ROOTPROC=" + "?".join(argv)


def zcore_machine(firmware: Path, zcore: Path, root_image: Path, argv: Sequence[str], *,
                  smp: int = 1, memory: str = ZCORE_MEMORY, log: str = "warn",
                  icount: Icount = None, extra_args: Sequence[str] = (), gdb: bool = False,
                  name: str = "zcore", log_dir: Optional[Path] = None) -> Machine:
    """A machine that boots ``firmware`` + zCore with ``root_image`` as its root
    file system and runs ``argv`` as the root process (not launched yet)."""
    return Machine(firmware=firmware, kernel=zcore, initrd=root_image,
                   append=zcore_cmdline(argv, log), smp=smp, memory=memory, icount=icount,
                   extra_args=extra_args, gdb=gdb, name=name, log_dir=log_dir,
                   fail_patterns=ZCORE_FAIL_PATTERNS)


def run_on_zcore(firmware: Path, zcore: Path, root_image: Path, argv: Sequence[str], *,
                 smp: int = 1, memory: str = ZCORE_MEMORY, icount: Icount = None,
                 extra_args: Sequence[str] = (), timeout: float = 600.0,
                 on_started: Optional[Callable[[], None]] = None,
                 log_dir: Optional[Path] = None) -> Tuple[GuestRun, Machine]:
    """Boots zCore with ``/init`` (the Linux initramfs's prompt) as its root process,
    runs ``argv`` there and stops QEMU (zCore cannot power off): the run and the
    stopped machine (its console and logs). ``on_started`` is called once the
    prompt is up."""
    m = zcore_machine(firmware, zcore, root_image, ["/bin/init"], smp=smp, memory=memory,
                      icount=icount, extra_args=extra_args, log="error", name="run-zcore",
                      log_dir=log_dir)
    with m:
        guest = LinuxGuest(m)
        guest.start(timeout, on_started)
        result = guest.run(" ".join(argv), timeout=timeout)
    return result, m

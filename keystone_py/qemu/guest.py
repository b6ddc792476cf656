"""The Linux guest: boot the kernel + initramfs on either firmware, drive ``/init``.

``/init`` (``linux_host/init/init.c``) prints a marker, runs the commands of
the kernel option ``ks.script=`` and then serves a ``ks> `` prompt on the
console. This module makes the kernel command line, the :class:`Machine` and
the conversation:

>>> from keystone_py.qemu.guest import linux_machine, LinuxGuest
>>> with linux_machine(artifacts, firmware="ours", smp=4) as m:
...     guest = LinuxGuest(m)
...     ready = guest.wait_ready()          # InitReady(cpus=4, time=...)
...     guest.peek(0x8000_0000).fault       # True: the SM's memory is out of reach
...     guest.poweroff()                    # QEMU's exit status, 0
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence, Union

from ..build.artifacts import Artifacts
from ..contract import (
    INIT_CPUS,
    INIT_PEEK,
    INIT_PROMPT,
    INIT_PROMPT_ON_CONSOLE,
    INIT_READY,
    INIT_READY_ON_CONSOLE,
    INIT_RUN_STATUS,
    KERNEL_POWER_DOWN,
    LINUX_FAIL_PATTERNS,
    without_kernel_lines,
)
from ..errors import KeystoneError
from ..toolchain import Toolchain
from .argv import Icount
from .firmware import firmware_label, resolve_firmware
from .machine import Machine

#: The kernel command line every boot starts with: the ns16550a console.
BASE_CMDLINE = "console=ttyS0 earlycon"
#: One QEMU time tick (10 MHz time CSR) under ``-icount shift=0``, in instructions:
#: 100 ns of virtual time, 1 ns per instruction.
INSTRUCTIONS_PER_TICK_SHIFT0 = 100


def encode_script(commands: Sequence[str]) -> str:
    """``["cpus", "peek 0x80000000"]`` → ``cpus,peek+0x80000000`` for ``ks.script=``.

    /init splits on ``,`` and turns ``+`` back into a space, so a command may
    hold single spaces but no ``,``, ``+`` or other white space."""
    out = []
    for cmd in commands:
        cmd = cmd.strip()
        if not cmd or re.search(r"[,+\t\r\n]|  ", cmd):
            raise KeystoneError(f"ks.script command {cmd!r}: must be non-empty, without ',' "
                                "'+', tabs, newlines or double spaces")
        out.append(cmd.replace(" ", "+"))
    return ",".join(out)


def kernel_cmdline(script: Union[None, str, Sequence[str]] = None, extra: str = "") -> str:
    """The whole ``-append`` string: console, optional ``ks.script``, ``extra``.

    ``script`` is a list of commands (``["cpus", "peek 0x80000000"]``) or a
    string already in ``ks.script`` form (``cpus,peek+0x80000000``)."""
    parts = [BASE_CMDLINE]
    if isinstance(script, str) and script:
        if re.search(r"\s", script):
            raise KeystoneError(f"ks.script {script!r}: no white space (write '+' for a space)")
        parts.append("ks.script=" + script)
    elif script:
        parts.append("ks.script=" + encode_script(script))
    if extra:
        parts.append(extra)
    return " ".join(parts)


def linux_machine(artifacts: Artifacts, firmware: Union[str, Path] = "ours",
                  smp: int = 1, script: Union[None, str, Sequence[str]] = None,
                  append_extra: str = "", icount: Icount = None,
                  memory: str = "256M", toolchain: Optional[Toolchain] = None,
                  name: Optional[str] = None, **kwargs: Any) -> Machine:
    """A (not yet launched) Machine booting ``linux_image`` + ``initramfs`` on
    ``firmware`` (``ours``, ``opensbi`` or a path). Kernel panics and SM panics
    end any wait at once."""
    kernel, initrd = artifacts.require("linux_image"), artifacts.require("initramfs")
    tc = toolchain or Toolchain()
    kwargs.setdefault("fail_patterns", LINUX_FAIL_PATTERNS)
    kwargs.setdefault("qemu", tc.qemu)
    return Machine(firmware=resolve_firmware(firmware, artifacts, tc),
                   kernel=kernel, initrd=initrd,
                   append=kernel_cmdline(script, append_extra), smp=smp, memory=memory,
                   icount=icount, name=name or f"linux-{firmware_label(firmware)}-smp{smp}",
                   **kwargs)


@dataclass(frozen=True)
class InitReady:
    """/init's marker: CPUs online and the time CSR (None when U-mode may not read it)."""

    cpus: int
    time: Optional[int]
    text: str

    def instructions(self, icount_shift: Optional[int] = 0) -> Optional[int]:
        """Instructions executed (all harts) before the marker, when the run used
        ``-icount shift=0``: one 10 MHz tick is 100 instructions."""
        if self.time is None or icount_shift != 0:
            return None
        return self.time * INSTRUCTIONS_PER_TICK_SHIFT0


def shell_status(status: Optional[int], signal: Optional[int]) -> int:
    """What a shell reports for a program that ended with ``status`` or was killed
    by ``signal`` (128 + the signal; 1 when /init reported neither)."""
    if signal is not None:
        return 128 + signal
    return status if status is not None else 1


@dataclass(frozen=True)
class GuestRun:
    """A program /init ran (``run PROG ARGS``): what it printed and how it ended."""

    argv: str
    output: str
    status: Optional[int]
    signal: Optional[int] = None

    @property
    def lines(self) -> List[str]:
        return [ln.rstrip("\r") for ln in self.output.splitlines()]

    @property
    def exit_code(self) -> int:
        """What a shell would report (:func:`shell_status`)."""
        return shell_status(self.status, self.signal)

    def __str__(self) -> str:
        end = f"exit status {self.status}" if self.signal is None else f"signal {self.signal}"
        return f"`{self.argv}` ended with {end}; output:\n{self.output}"


@dataclass(frozen=True)
class Peek:
    """/init's answer to ``peek ADDR``."""

    addr: int
    value: Optional[int] = None
    signal: Optional[int] = None
    error: Optional[str] = None

    @property
    def fault(self) -> bool:
        """The read was stopped by a signal (the guest never saw the bytes)."""
        return self.signal is not None


def parse_ready(text: str) -> Optional[InitReady]:
    """The first /init marker in ``text`` (a whole line; the last may lack its newline)."""
    text = without_kernel_lines(text)
    m = re.search(INIT_READY, text if text.endswith("\n") else text + "\n")
    if not m:
        return None
    time = int(m.group(2)) if m.group(2).isdigit() else None
    return InitReady(cpus=int(m.group(1)), time=time, text=m.group(0).rstrip())


def parse_peeks(text: str) -> List[Peek]:
    out = []
    for m in re.finditer(INIT_PEEK, text):
        out.append(Peek(addr=int(m.group("addr"), 0),
                        value=int(m.group("value"), 16) if m.group("value") else None,
                        signal=int(m.group("signal")) if m.group("signal") else None,
                        error=m.group("error")))
    return out


#: Terminal colour sequences (zCore's log lines carry them); never part of an answer.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class LinuxGuest:
    """The conversation with /init over a running Linux Machine's console."""

    def __init__(self, machine: Machine):
        self.machine = machine
        self.ready: Optional[InitReady] = None

    def wait_ready(self, timeout: float = 120.0) -> InitReady:
        """Waits for /init's marker (boot finished) and returns it."""
        m = self.machine.expect(INIT_READY_ON_CONSOLE, timeout=timeout)
        self.ready = parse_ready(m.group(0))
        assert self.ready is not None
        return self.ready

    def wait_prompt(self, timeout: float = 60.0) -> None:
        """Waits until /init prints its prompt (after ``ks.script`` ran)."""
        self.machine.expect(INIT_PROMPT_ON_CONSOLE, timeout=timeout)

    def start(self, timeout: float = 120.0,
              on_started: Optional[Callable[[], None]] = None) -> InitReady:
        """Boot to the prompt (:meth:`wait_ready`, then :meth:`wait_prompt`); calls
        ``on_started`` there (the CLI starts streaming the console) and returns the marker."""
        ready = self.wait_ready(timeout=timeout)
        self.wait_prompt()
        if on_started is not None:
            on_started()
        return ready

    def boot_and_run(self, argv: Sequence[str], timeout: float = 600.0,
                     on_started: Optional[Callable[[], None]] = None,
                     poweroff: bool = True) -> GuestRun:
        """The one boot-and-run sequence (``keystone-py run``, ``run --eapp``, the
        ``ks_run`` fixture): boot to the prompt (:meth:`start`, which calls
        ``on_started``), run ``argv`` (:meth:`run`), then power off (leave that
        to the caller with ``poweroff=False``: zCore cannot)."""
        self.start(timeout, on_started)
        result = self.run(" ".join(argv), timeout=timeout)
        if poweroff:
            self.poweroff()
        return result

    def command(self, cmd: str, timeout: float = 30.0) -> str:
        """Types ``cmd`` at the prompt (already printed: call :meth:`wait_prompt`
        first) and returns what /init printed in answer, up to the next prompt
        (the terminal's echo of ``cmd`` removed)."""
        start = len(self.machine.console_text)
        self.machine.sendline(cmd)
        self.machine.expect(INIT_PROMPT_ON_CONSOLE, timeout=timeout)
        text = ANSI_ESCAPE.sub("", self.machine.console_text[start:])
        text = text[:text.rfind(INIT_PROMPT)] if INIT_PROMPT in text else text
        lines = text.split("\n")
        if lines and lines[0].strip() == cmd.strip():
            lines = lines[1:]
        return "\n".join(lines).strip("\n")

    def run(self, argv: str, timeout: float = 120.0) -> GuestRun:
        """``run PROG ARGS`` at the prompt: the program's output (without
        /init's status line) and its exit status or signal."""
        out = self.command(f"run {argv}", timeout)
        found = list(re.finditer(INIT_RUN_STATUS, out, re.M))
        if not found:
            raise KeystoneError(f"/init did not report the end of `{argv}`: {out!r}")
        last = found[-1]
        status = int(last.group("status")) if last.group("status") else None
        signal = int(last.group("signal")) if last.group("signal") else None
        return GuestRun(argv=argv, output=out[:last.start()].rstrip("\n"), status=status,
                        signal=signal)

    def cpus(self, timeout: float = 30.0) -> int:
        out = self.command("cpus", timeout)
        m = re.search(INIT_CPUS, out + "\n")
        if not m:
            raise KeystoneError(f"/init did not answer `cpus`: {out!r}")
        return int(m.group(1))

    def peek(self, addr: int, timeout: float = 30.0) -> Peek:
        out = self.command(f"peek {addr:#x}", timeout)
        peeks = parse_peeks(out)
        if not peeks:
            raise KeystoneError(f"/init did not answer `peek {addr:#x}`: {out!r}")
        return peeks[0]

    def poweroff(self, timeout: float = 60.0) -> int:
        """``poweroff``: Linux shuts down through the SBI; returns QEMU's exit status."""
        self.machine.sendline("poweroff")
        self.machine.expect(KERNEL_POWER_DOWN, timeout=timeout)
        return self.machine.wait_exit(timeout=timeout)

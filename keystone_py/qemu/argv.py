"""The QEMU command line, built in one place for every launcher.

A :class:`QemuConfig` is what a run boots (machine, harts, memory, firmware,
kernel, initrd, command line, ``-icount``, extra arguments); :meth:`QemuConfig.argv`
adds how it is wired: where the serial console goes (:class:`Console`), the QMP
socket and the gdbstub. :class:`~keystone_py.qemu.machine.Machine` (socket
console + QMP, or a console file for batch runs) and ``keystone-py boot --linux
--interactive`` (the console on this terminal) all come here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple, Union

#: ``-icount`` as the callers give it: an int N means ``shift=N,sleep=off``.
Icount = Union[None, int, str]


def icount_arg(icount: Union[int, str]) -> str:
    """The value of QEMU's ``-icount``: ``shift=N,sleep=off`` for an int N."""
    return f"shift={icount},sleep=off" if isinstance(icount, int) else str(icount)


@dataclass(frozen=True)
class Console:
    """Where the serial console goes: a Unix socket QEMU serves (``socket``), a
    file (``file``), or this process's terminal with QEMU's monitor mux on
    Ctrl-A (``stdio``)."""

    kind: str
    path: Optional[Path] = None

    @classmethod
    def socket(cls, path: Path) -> "Console":
        return cls("socket", Path(path))

    @classmethod
    def file(cls, path: Path) -> "Console":
        return cls("file", Path(path))

    @classmethod
    def stdio(cls) -> "Console":
        return cls("stdio")

    def args(self) -> List[str]:
        if self.kind == "stdio":
            return ["-nographic"]
        if self.kind == "socket":
            chardev = f"socket,id=console,path={self.path},server=on,wait=on"
        elif self.kind == "file":
            chardev = f"file,id=console,path={self.path}"
        else:
            raise ValueError(f"unknown console kind {self.kind!r}")
        return ["-display", "none", "-monitor", "none",
                "-chardev", chardev, "-serial", "chardev:console"]


@dataclass(frozen=True)
class QemuConfig:
    """What one ``qemu-system-riscv64`` run boots."""

    qemu: Path
    machine: str = "virt"
    smp: int = 1
    memory: str = "256M"
    firmware: Optional[Path] = None
    kernel: Optional[Path] = None
    initrd: Optional[Path] = None
    append: Optional[str] = None
    #: An int N means ``shift=N,sleep=off`` (one instruction = 2**N ns of virtual
    #: time; idle harts skip to the next timer instead of sleeping, so instruction
    #: counts and the time CSR repeat exactly); a string is passed as is; None: off.
    icount: Icount = None
    extra_args: Tuple[str, ...] = field(default_factory=tuple)

    def argv(self, console: Console, qmp: Optional[Path] = None,
             gdb_port: Optional[int] = None) -> List[str]:
        """The whole command line. ``qmp``: a Unix socket QEMU serves QMP on;
        ``gdb_port``: start halted (``-S``) with a gdbstub on 127.0.0.1:PORT.
        The extra arguments come last, so they can override the rest."""
        argv = [str(self.qemu), "-M", self.machine, "-smp", str(self.smp), "-m", self.memory,
                *console.args()]
        if qmp is not None:
            argv += ["-qmp", f"unix:{qmp},server=on,wait=off"]
        if self.firmware:
            argv += ["-bios", str(self.firmware)]
        if self.kernel:
            argv += ["-kernel", str(self.kernel)]
        if self.initrd:
            argv += ["-initrd", str(self.initrd)]
        if self.append is not None:
            argv += ["-append", self.append]
        if self.icount is not None:
            argv += ["-icount", icount_arg(self.icount)]
        if gdb_port is not None:
            argv += ["-S", "-gdb", f"tcp:127.0.0.1:{gdb_port}"]
        argv += list(self.extra_args)
        return argv

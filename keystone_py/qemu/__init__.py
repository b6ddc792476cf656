"""QEMU ``virt`` machines: the command line, the run, its console and QMP.

* :mod:`.argv` – :class:`QemuConfig` and :class:`Console`: the one argv builder;
* :mod:`.machine` – :class:`Machine`, one QEMU run (context manager, logs, expect);
* :mod:`.console` – the serial console (socket drained by a thread, pexpect);
* :mod:`.qmp` – a minimal QMP client;
* :mod:`.firmware` – ours, Debian's OpenSBI or a file;
* :mod:`.guest` – Linux + /init: :func:`linux_machine`, :class:`LinuxGuest`;
* :mod:`.payload` – the conformance payload as an enclave host (``-append runtime``);
* :mod:`.bench` – ``keystone-py bench``.
"""

from .argv import Console, QemuConfig, icount_arg
from .firmware import firmware_label, resolve_firmware
from .guest import LinuxGuest, linux_machine
from .machine import BatchResult, Machine, State, free_tcp_port
from .qmp import QMPClient

__all__ = ["BatchResult", "Console", "LinuxGuest", "Machine", "QMPClient", "QemuConfig", "State",
           "firmware_label", "free_tcp_port", "icount_arg", "linux_machine", "resolve_firmware"]

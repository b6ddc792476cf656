"""pytest plugin (entry point ``pytest11: keystone_py``).

Options::

    --smp N              harts of machines made by machine_factory (default 1)
    --firmware ours|opensbi
                         M-mode firmware: build/sm_rs.bin or Debian's OpenSBI fw_jump
    --qemu-arg ARG       extra QEMU argument for every machine (repeatable)
    --icount SHIFT       QEMU -icount shift=SHIFT for every machine (deterministic counts)
    --keep-logs          keep every test's log folder, not only failed ones
    --ks-log-root DIR    where per-test log folders go (default build/test-logs)
    --target URL, --target-key FILE
                         an SSH target for the ssh_target fixture

Fixtures::

    ks_paths         (session) the built tree: firmware and payload built, cached
    ks_log_dir       per-test log folder, named by the test id, kept on failure
    machine_factory  makes Machines (not yet launched) that log into ks_log_dir and are
                     shut down when the test ends
    ks_linux         (session) every artifact, the Linux ones built: kernel Image, vmlinux,
                     initramfs (cached)
    linux_machine    makes Machines booting Linux + /init on ours or OpenSBI:
                     ``linux_machine(smp=4, firmware="opensbi", script=["cpus", "poweroff"])``
    ks_enclave       (session) every artifact, loader, runtime and eapps included (cached)
    payload_stack    ``payload_stack(eapp="hello")`` → a launched, halted Machine (gdbstub on)
                     whose payload hosts that eapp through loader and runtime, and its
                     :class:`~keystone_py.gdb.PayloadStack`
    ks_gdb           ``ks_gdb(machine, worlds=None, elf=None)`` → an attached GdbSession whose
                     GDB/MI transcript (gdb.log) is in the machine's log folder; closed at the end
    ks_run           ``ks_run(eapp=FILE, host=None, expect_retval=None, args=())`` → a
                     :class:`~keystone_py.qemu.userrun.UserRun` (output, status, value, stats,
                     console): your files run in the guest (see ``keystone-py run --eapp``)
    ssh_target       a :class:`~keystone_py.remote.SshTarget` for ``--target ssh://user@host:port``
                     (``--target-key``); skips without ``--target``
    tap_run          the run of a test marked with :func:`tap_checks` (see :mod:`.tap_items`)
    ks_cpu_load      every CPU of the build machine busy (one busy-loop process per core)
                     for the test, killed at its end whatever happens (see :mod:`.load`)

Artifacts (``ks_paths.artifacts``, ``ks_linux``, ``ks_enclave``) are
:class:`~keystone_py.build.Artifacts`: ``ks_enclave.eapp("hello")``,
``ks_linux.vmlinux``.

Modules: :mod:`.session` (KsPaths, log folders), :mod:`.fixtures`, :mod:`.hooks`
(options, reports), :mod:`.tap_items` (one item per TAP line), :mod:`.load` (CPU load).
"""

from .fixtures import (
    ks_enclave,
    ks_gdb,
    ks_linux,
    ks_log_dir,
    ks_paths,
    ks_run,
    linux_machine,
    machine_factory,
    payload_stack,
    ssh_target,
)
from .hooks import pytest_addoption, pytest_configure, pytest_runtest_makereport
from .load import CpuLoad, ks_cpu_load, saturated_cpus
from .session import KsPaths, ks_session
from .tap_items import (
    TapCheck,
    TapContext,
    TapRun,
    pytest_collection_modifyitems,
    tap_checks,
    tap_run,
)

__all__ = [
    "CpuLoad", "KsPaths", "TapCheck", "TapContext", "TapRun", "ks_cpu_load", "ks_enclave",
    "ks_gdb", "ks_linux",
    "ks_log_dir", "ks_paths", "ks_run",
    "ks_session", "linux_machine", "machine_factory", "payload_stack", "pytest_addoption",
    "pytest_collection_modifyitems", "pytest_configure", "pytest_runtest_makereport",
    "saturated_cpus", "ssh_target", "tap_checks", "tap_run",
]

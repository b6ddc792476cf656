"""A build machine under load: one busy-loop process per CPU (``os.cpu_count()``),
so a test sees what a shared, busy CI machine does to it (QEMU's vCPUs and the
guest's threads wait for a core; a worker thread is descheduled mid-call).

``saturated_cpus()`` is the context manager; ``ks_cpu_load`` the fixture that
holds it for one test. The spinners are killed on exit whatever happens (an
exception, a failed test, Ctrl-C), and each asks the kernel to kill it should
this process die first (``PR_SET_PDEATHSIG``), so none outlives the run.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, List, Optional

import pytest

#: The busy loop each spinner runs: pure Python, no I/O, no sleep.
SPIN = "while True:\n    pass\n"
#: prctl(2) option: the signal this process gets when its parent dies.
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in each spinner before exec: SIGKILL when the test process dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


@dataclass
class CpuLoad:
    """The running spinners."""

    procs: List[subprocess.Popen] = field(default_factory=list)

    @property
    def pids(self) -> List[int]:
        return [p.pid for p in self.procs]

    def running(self) -> int:
        """How many spinners are still alive."""
        return sum(1 for p in self.procs if p.poll() is None)

    def stop(self) -> None:
        """Kills every spinner and reaps it."""
        for p in self.procs:
            if p.poll() is None:
                p.kill()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL cannot be ignored
                pass


@contextmanager
def saturated_cpus(n: Optional[int] = None) -> Iterator[CpuLoad]:
    """Keeps ``n`` CPUs busy (default: every CPU, ``os.cpu_count()``) for the
    ``with`` block: one busy-loop process each."""
    count = n if n is not None else (os.cpu_count() or 1)
    load = CpuLoad()
    try:
        for _ in range(count):
            load.procs.append(subprocess.Popen(
                [sys.executable, "-c", SPIN], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                preexec_fn=_die_with_parent))
        yield load
    finally:
        load.stop()


@pytest.fixture
def ks_cpu_load() -> Iterator[CpuLoad]:
    """Every CPU of the build machine busy for the test (see :func:`saturated_cpus`)."""
    with saturated_cpus() as load:
        yield load

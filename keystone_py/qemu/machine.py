"""One QEMU ``virt`` machine: argv, console, QMP, gdbstub port, logs.

Conventions after labgrid's QEMUDriver and QEMU's own ``machine.py``: argv is
built in one place (:mod:`.argv`); the serial console and QMP are Unix sockets
in a private temp dir; a launch failure is one error with argv, exit code and
output; the shutdown escalates QMP ``quit`` → SIGTERM → SIGKILL in ``finally``
and raises :class:`~keystone_py.errors.MachineShutdownError` when SIGKILL was
needed.

Every run writes to its log folder:

* ``qemu-cmdline.txt`` – the exact argv (shell-quoted),
* ``console.log`` – every byte of the serial console,
* ``qemu-output.log`` – QEMU's own stdout/stderr,
* ``qmp.log`` – the QMP transcript.

Console lines are also logged at level ``CONSOLE`` (15) on the
``keystone_py.console`` logger.
"""

from __future__ import annotations

import ctypes
import enum
import logging
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Dict, List, Optional, Pattern, Sequence, Union

import pexpect

from ..contract import FAIL_PATTERNS
from ..errors import (
    ConsoleFailure,
    ConsoleTimeout,
    MachineExited,
    MachineLaunchError,
    MachineShutdownError,
    QMPError,
)
from ..paths import logs_dir
from ..toolchain import Toolchain
from .argv import Console, Icount, QemuConfig
from .console import TAIL_LINES, ConsoleRecorder, SocketConsole
from .qmp import QMPClient

log = logging.getLogger("keystone_py.machine")
#: Console lines that mean the run failed, whatever is being waited for.
DEFAULT_FAIL_PATTERNS = FAIL_PATTERNS

PatternLike = Union[str, Pattern[str]]
PathLike = Union[str, Path]

try:  # Linux: QEMU gets SIGKILL if we die without cleaning up (even kill -9).
    _LIBC: Optional[ctypes.CDLL] = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover - non-Linux
    _LIBC = None
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def free_tcp_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _compile(p: PatternLike) -> Pattern[str]:
    return p if isinstance(p, re.Pattern) else re.compile(p, re.MULTILINE)


@dataclass
class BatchResult:
    """What :meth:`Machine.run_to_exit` saw."""

    status: Optional[int] = None  # QEMU's exit status (negative: killed by that signal)
    wall_s: float = 0.0
    marks: Dict[str, float] = field(default_factory=dict)  # pattern -> seconds after launch
    matches: Dict[str, "re.Match[str]"] = field(default_factory=dict)
    failure: Optional[str] = None  # the fail-pattern line that ended the run
    timed_out: bool = False
    text: str = ""


class State(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    EXITED = "exited"  # QEMU exited by itself (console closed)
    CLOSED = "closed"  # shut down and cleaned up


class Machine:
    """A ``qemu-system-riscv64 -M virt`` run, as a context manager.

    >>> with Machine(firmware="build/sm_rs.bin", kernel="build/sbi_conformance.bin",
    ...              log_dir=Path("build/logs/demo")) as m:
    ...     m.expect(r"keystone-rs SM v\\d+\\.\\d+\\.\\d+", timeout=10)
    ...     status = m.wait_exit(timeout=30)
    """

    def __init__(self, firmware: Optional[PathLike], kernel: Optional[PathLike] = None,
                 initrd: Optional[PathLike] = None, append: Optional[str] = None,
                 smp: int = 1, memory: str = "256M", extra_args: Sequence[str] = (),
                 gdb: bool = False, icount: Icount = None,
                 log_dir: Optional[PathLike] = None,
                 name: str = "qemu", qemu: Optional[PathLike] = None, machine: str = "virt",
                 fail_patterns: Sequence[PatternLike] = DEFAULT_FAIL_PATTERNS,
                 launch_timeout: float = 15.0, shutdown_grace: float = 3.0):
        self.firmware = Path(firmware) if firmware else None
        self.kernel = Path(kernel) if kernel else None
        self.initrd = Path(initrd) if initrd else None
        self.append = append
        self.smp = smp
        self.memory = memory
        self.extra_args = list(extra_args)
        self.gdb = gdb
        #: ``-icount``: an int N means ``shift=N,sleep=off`` (one instruction =
        #: 2**N ns of virtual time, and idle harts skip to the next timer instead
        #: of sleeping in real time, so instruction counts and the time CSR repeat
        #: exactly); a string is passed as is (e.g. ``shift=0,sleep=on``); None: off.
        self.icount = icount
        self.name = name
        self.machine = machine
        self.fail_patterns = list(fail_patterns)
        self.launch_timeout = launch_timeout
        self.shutdown_grace = shutdown_grace
        self.qemu = Path(qemu) if qemu is not None else Toolchain().qemu
        if log_dir is None:
            log_dir = _default_log_dir(name)
        self.log_dir = Path(log_dir)
        self.state = State.NEW
        self.gdb_port: Optional[int] = None
        self.pid: Optional[int] = None
        self.killed = False  # True when SIGKILL was needed
        self._argv: List[str] = []
        self._tmp: Optional[Path] = None
        self._proc: Optional[subprocess.Popen] = None
        self._spawn: Optional[SocketConsole] = None
        self._qmp: Optional[QMPClient] = None
        self._recorder: Optional[ConsoleRecorder] = None
        self._out: Optional[IO[bytes]] = None
        self._qmp_log: Optional[IO[str]] = None
        self._finalizer: Optional[weakref.finalize] = None
        self._batch_text = ""

    # -- paths ------------------------------------------------------------------
    @property
    def console_log_path(self) -> Path:
        return self.log_dir / "console.log"

    @property
    def output_log_path(self) -> Path:
        return self.log_dir / "qemu-output.log"

    @property
    def argv(self) -> List[str]:
        """The argv of the current (or last) launch."""
        return list(self._argv)

    # -- argv -------------------------------------------------------------------
    @property
    def config(self) -> QemuConfig:
        """What this machine boots, for :mod:`.argv` (the one argv builder)."""
        return QemuConfig(qemu=self.qemu, machine=self.machine, smp=self.smp,
                          memory=self.memory, firmware=self.firmware, kernel=self.kernel,
                          initrd=self.initrd, append=self.append, icount=self.icount,
                          extra_args=tuple(self.extra_args))

    def build_argv(self, serial_sock: Path, qmp_sock: Path, gdb_port: Optional[int]) -> List[str]:
        """The command line of :meth:`launch`: console and QMP on Unix sockets."""
        return self.config.argv(Console.socket(serial_sock), qmp=qmp_sock, gdb_port=gdb_port)

    def build_batch_argv(self, console_path: Path) -> List[str]:
        """The command line of :meth:`run_to_exit`: the console goes straight to
        a file and there is no QMP, so QEMU never waits for a reader."""
        return self.config.argv(Console.file(console_path))

    def run_to_exit(self, timeout: float = 600.0, marks: Sequence[PatternLike] = (),
                    poll: float = 0.01) -> "BatchResult":
        """Runs QEMU to its end with the console written straight to
        ``console.log`` (nothing is typed; use it for runs that end by
        themselves, e.g. benchmarks). A guest that polls its UART is never
        held up by a slow reader here, so ``-icount`` figures repeat exactly,
        which a socket console cannot promise. Records when each of ``marks``
        first matched; a fail pattern or ``timeout`` kills QEMU early."""
        self._prepare_launch()
        self.console_log_path.write_bytes(b"")
        wanted = [_compile(p) for p in marks]
        fails = [_compile(p) for p in self.fail_patterns]
        result = BatchResult()
        start = time.monotonic()
        self._start_process(self.build_batch_argv(self.console_log_path), " (console to file)")
        self.state = State.RUNNING
        text = ""
        try:
            with open(self.console_log_path, "rb") as con:
                while True:
                    rc = self._proc.poll()
                    chunk = con.read()
                    if chunk:
                        text += chunk.decode("utf-8", errors="replace").replace("\r", "")
                        now = time.monotonic() - start
                        for w in wanted:
                            if w.pattern not in result.marks:
                                m = w.search(text)
                                if m:
                                    result.marks[w.pattern] = now
                                    result.matches[w.pattern] = m
                        hit = next((m for f in fails for m in [f.search(text)] if m), None)
                        if hit:
                            result.failure = hit.group(0)
                            break
                    if rc is not None and not chunk:
                        break
                    if time.monotonic() - start > timeout:
                        result.timed_out = True
                        break
                    time.sleep(poll)
        finally:
            if self._proc.poll() is None:
                _kill_quietly(self._proc)
            self._batch_text = text
            result.wall_s = time.monotonic() - start
            result.status = self._proc.returncode
            result.text = text
            self._cleanup()
            self.state = State.CLOSED
        log.info("[%s] QEMU ended with status %s after %.2fs%s", self.name, result.status,
                 result.wall_s, f" ({result.failure})" if result.failure else
                 (" (timeout)" if result.timed_out else ""))
        return result

    # -- life cycle ---------------------------------------------------------------
    def __enter__(self) -> "Machine":
        self.launch()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            self.shutdown()
        except MachineShutdownError as err:
            if exc_type is None:
                raise
            # Do not hide the error that ended the with block.
            log.warning("[%s] %s", self.name, err)

    def _prepare_launch(self) -> None:
        """Refuses a second launch or missing images, then makes the log folder."""
        if self.state is not State.NEW:
            raise RuntimeError(f"machine {self.name} already launched")
        for path, what in ((self.firmware, "firmware"), (self.kernel, "kernel"),
                           (self.initrd, "initrd")):
            if path is not None and not path.is_file():
                raise MachineLaunchError(f"{what} {path} does not exist (run `keystone-py build`)",
                                         [], None, "", self.log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)

    def launch(self) -> "Machine":
        """Start QEMU and connect console and QMP; raise MachineLaunchError if it
        does not come up. With ``gdb=True`` the CPUs stay halted until GDB
        continues them."""
        self._prepare_launch()
        attempts = 3 if self.gdb else 1
        for attempt in range(attempts):
            try:
                self._launch_once()
                break
            except MachineLaunchError as exc:
                self._cleanup()
                if attempt + 1 < attempts and "gdb" in exc.output.lower():
                    log.warning("gdbstub port taken, retrying with another port")
                    continue
                raise
        self.state = State.RUNNING
        return self

    def _launch_once(self) -> None:
        self._tmp = Path(tempfile.mkdtemp(prefix="ksqemu-"))
        serial_sock, qmp_sock = self._tmp / "serial.sock", self._tmp / "qmp.sock"
        self.gdb_port = free_tcp_port() if self.gdb else None
        self._start_process(self.build_argv(serial_sock, qmp_sock, self.gdb_port))
        deadline = time.monotonic() + self.launch_timeout
        sock = self._connect(serial_sock, deadline, "serial console")
        self._recorder = ConsoleRecorder(self.console_log_path, self.name)
        self._spawn = SocketConsole(sock, self._recorder, timeout=30)
        self._qmp_log = open(self.log_dir / "qmp.log", "w")
        qsock = self._connect(qmp_sock, deadline, "QMP")
        qsock.close()  # QMPClient opens its own connection; QEMU accepts a new one
        try:
            self._qmp = QMPClient(qmp_sock, timeout=max(1.0, deadline - time.monotonic()),
                                  transcript=self._qmp_log)
            self._qmp.timeout = 5.0
        except (QMPError, OSError) as exc:
            raise self._launch_error(f"QMP handshake failed: {exc}") from exc
        log.info("[%s] running, pid %d%s, logs in %s", self.name, self.pid,
                 f", gdbstub on 127.0.0.1:{self.gdb_port}" if self.gdb_port else "", self.log_dir)

    def _start_process(self, argv: List[str], how: str = "") -> None:
        """The one place QEMU starts, for :meth:`launch` and :meth:`run_to_exit`:
        records ``argv`` in ``qemu-cmdline.txt``, sends QEMU's own output to
        ``qemu-output.log``, starts it in a session of its own that dies with us,
        and makes sure it is killed if this object is collected before shutdown."""
        self._argv = argv
        (self.log_dir / "qemu-cmdline.txt").write_text(shlex.join(argv) + "\n")
        self._out = open(self.output_log_path, "wb")
        log.info("[%s] launching%s: %s", self.name, how, shlex.join(argv))
        try:
            self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._out,
                                          stderr=subprocess.STDOUT, start_new_session=True,
                                          preexec_fn=_die_with_parent)
        except OSError as exc:
            raise MachineLaunchError(str(exc), argv, None, "", self.log_dir) from exc
        self.pid = self._proc.pid
        self._finalizer = weakref.finalize(self, _kill_quietly, self._proc)

    def _connect(self, path: Path, deadline: float, what: str) -> socket.socket:
        assert self._proc is not None
        while True:
            if self._proc.poll() is not None:
                raise self._launch_error(f"QEMU exited before its {what} socket was ready")
            if path.exists():
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    s.connect(str(path))
                    return s
                except OSError:
                    s.close()
            if time.monotonic() > deadline:
                raise self._launch_error(f"{what} socket {path} not ready after "
                                         f"{self.launch_timeout:.0f}s")
            time.sleep(0.01)

    def _launch_error(self, reason: str) -> MachineLaunchError:
        code = None
        if self._proc is not None:
            try:
                code = self._proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                code = None
        if self._out:
            self._out.flush()
        try:
            output = self.output_log_path.read_text(errors="replace")
        except OSError:
            output = ""
        return MachineLaunchError(reason, self._argv, code, output, self.log_dir)

    # -- console --------------------------------------------------------------------
    def _require_running(self) -> SocketConsole:
        if self._spawn is None:
            raise RuntimeError(f"machine {self.name} is not running (state {self.state.value})")
        return self._spawn

    def tail(self, n: int = TAIL_LINES) -> List[str]:
        """The last ``n`` console lines."""
        return self._recorder.tail(n) if self._recorder else []

    @property
    def console_text(self) -> str:
        """Everything the console printed so far (``\\r`` removed)."""
        if self._recorder:
            return self._recorder.text.replace("\r", "")
        return self._batch_text

    def expect(self, pattern: PatternLike, fail: Optional[Sequence[PatternLike]] = None,
               timeout: float = 30.0) -> "re.Match[str]":
        """Wait until ``pattern`` (a regex, MULTILINE) appears on the console.

        ``fail`` patterns (added to the machine's ``fail_patterns``, e.g.
        ``SM PANIC``) are in the same match list, so a failure line ends the wait
        at once. Raises ConsoleFailure, ConsoleTimeout or MachineExited, each
        carrying the pattern, the last console lines and the log path."""
        spawn = self._require_running()
        wanted = _compile(pattern)
        fails = [_compile(p) for p in [*self.fail_patterns, *(fail or [])]]
        idx = spawn.expect([wanted, *fails, pexpect.EOF, pexpect.TIMEOUT], timeout=timeout)
        if idx == 0:
            return spawn.match
        if idx <= len(fails):
            raise ConsoleFailure(wanted.pattern, fails[idx - 1].pattern, spawn.match.group(0),
                                 self.tail(), self.console_log_path)
        if idx == len(fails) + 1:
            code = self._reap(timeout=5)
            raise MachineExited(wanted.pattern, code, self.tail(), self.console_log_path)
        raise ConsoleTimeout(wanted.pattern, timeout, self.tail(), self.console_log_path)

    def send(self, text: str) -> None:
        """Type ``text`` on the serial console."""
        self._require_running().send(text)

    def sendline(self, text: str = "") -> None:
        self._require_running().send(text + "\n")

    def wait_exit(self, timeout: float = 60.0) -> int:
        """Read the console until QEMU exits by itself; return its exit status
        (negative: killed by that signal). Raises ConsoleTimeout if it is still
        running after ``timeout`` seconds."""
        if self._proc is not None and self.state is State.EXITED:
            return self._proc.returncode
        spawn = self._require_running()
        deadline = time.monotonic() + timeout
        idx = spawn.expect([pexpect.EOF, pexpect.TIMEOUT], timeout=timeout)
        if idx == 1:
            raise ConsoleTimeout("<QEMU exit>", timeout, self.tail(), self.console_log_path)
        code = self._reap(timeout=max(1.0, deadline - time.monotonic()))
        if code is None:
            raise ConsoleTimeout("<QEMU exit after console closed>", timeout, self.tail(),
                                 self.console_log_path)
        return code

    def _reap(self, timeout: float) -> Optional[int]:
        assert self._proc is not None
        try:
            code = self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        self.state = State.EXITED
        log.info("[%s] QEMU exited with status %d", self.name, code)
        return code

    @property
    def exitcode(self) -> Optional[int]:
        """QEMU's exit status, or None while it runs."""
        return self._proc.poll() if self._proc is not None else None

    @property
    def qmp(self) -> QMPClient:
        if self._qmp is None:
            raise RuntimeError(f"machine {self.name} has no QMP connection")
        return self._qmp

    # -- shutdown -----------------------------------------------------------------
    def shutdown(self) -> Optional[int]:
        """Stop QEMU if it still runs (QMP quit → SIGTERM → SIGKILL), then close
        every file and remove the temp dir. Safe to call twice. Returns the exit
        status; raises MachineShutdownError (after all that) when QEMU ignored
        quit and SIGTERM and had to be killed."""
        if self.state is State.CLOSED:
            return self._proc.returncode if self._proc else None
        killed_before = self.killed
        try:
            self._stop_process()
        finally:
            self._cleanup()
            self.state = State.CLOSED
        if self.killed and not killed_before and self._proc is not None:
            raise MachineShutdownError(self.name, self._proc.pid, self.shutdown_grace,
                                       self.log_dir)
        return self._proc.returncode if self._proc else None

    def _stop_process(self) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        grace = self.shutdown_grace
        try:
            if self._qmp is not None:
                try:
                    self._qmp.execute("quit", timeout=grace)
                except QMPError as exc:
                    log.debug("[%s] QMP quit: %s", self.name, exc)
                try:
                    proc.wait(timeout=grace)
                    log.info("[%s] QEMU stopped by QMP quit", self.name)
                    return
                except subprocess.TimeoutExpired:
                    pass
            log.warning("[%s] QEMU (pid %d) ignored QMP quit: SIGTERM", self.name, proc.pid)
            proc.terminate()
            try:
                proc.wait(timeout=grace)
                return
            except subprocess.TimeoutExpired:
                pass
        finally:
            if proc.poll() is None:
                log.warning("[%s] QEMU (pid %d) still alive: SIGKILL", self.name, proc.pid)
                self.killed = True
                proc.kill()
                proc.wait()

    def _cleanup(self) -> None:
        if self._qmp is not None:
            self._qmp.close()
            self._qmp = None
        if self._spawn is not None:
            exited = self._proc is not None and self._proc.poll() is not None
            try:
                self._spawn.close(wait_eof=2.0 if exited else 0.0)
            except OSError:
                pass
            self._spawn = None
        if self._recorder is not None:
            self._recorder.close()
        for f in (self._out, self._qmp_log):
            if f is not None:
                f.close()
        self._out = self._qmp_log = None
        if self._proc is not None and self._proc.poll() is None:
            _kill_quietly(self._proc)  # only reached when launch failed half-way
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


def _kill_quietly(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            proc.kill()
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass


def _default_log_dir(name: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    try:
        parent = logs_dir()
    except Exception:  # noqa: BLE001 - outside a checkout
        parent = Path(tempfile.gettempdir()) / "keystone-py-logs"
    return parent / f"{safe}-{stamp}-{os.getpid()}"

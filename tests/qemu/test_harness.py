"""The harness itself: bad input gives clear, fast errors and leaves no QEMU behind."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from keystone_py.contract import PAYLOAD_HANG, PLAN, SM_BANNER
from keystone_py.errors import (
    ConsoleFailure,
    ConsoleTimeout,
    MachineExited,
    MachineLaunchError,
    MachineShutdownError,
)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped) counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def test_expect_on_a_hung_payload_times_out_fast_with_console_tail_and_log_path(machine_factory):
    with machine_factory(append="hang", name="hang") as m:
        m.expect(PAYLOAD_HANG, timeout=30)
        start = time.monotonic()
        with pytest.raises(ConsoleTimeout) as err:
            m.expect(PLAN, timeout=2)
        elapsed = time.monotonic() - start
        pid = m.pid
    message = str(err.value)
    assert 2 <= elapsed < 5
    assert "payload: hang requested" in message
    assert str(m.console_log_path) in message
    assert PLAN in message
    assert m.console_log_path.read_text().count("payload: hang requested") == 1
    assert not pid_alive(pid)


def test_fail_pattern_ends_the_wait_at_once(machine_factory):
    with machine_factory(append="hang", name="failfast") as m:
        start = time.monotonic()
        with pytest.raises(ConsoleFailure) as err:
            m.expect(PLAN, fail=[PAYLOAD_HANG], timeout=60)
    assert time.monotonic() - start < 30
    assert err.value.matched == "payload: hang requested"


def test_expect_after_qemu_exited_reports_exit_status(machine_factory):
    with machine_factory(name="exited") as m:
        with pytest.raises(MachineExited) as err:
            m.expect("this line is never printed", timeout=120)
    assert err.value.exitcode == 0
    assert "payload: done" in str(err.value)


def test_launch_failure_reports_argv_exit_code_and_output(machine_factory):
    m = machine_factory(name="badarg", extra_args=["-no-such-option"])
    with pytest.raises(MachineLaunchError) as err:
        m.launch()
    m.shutdown()
    assert err.value.exitcode not in (None, 0)
    assert "-no-such-option" in " ".join(err.value.argv)
    assert "no-such-option" in err.value.output
    assert "-no-such-option" in str(err.value)


def test_keyboard_interrupt_inside_with_leaves_no_qemu(machine_factory):
    m = machine_factory(append="hang", name="interrupt")
    with pytest.raises(KeyboardInterrupt):
        with m:
            m.expect(PAYLOAD_HANG, timeout=30)
            pid = m.pid
            raise KeyboardInterrupt
    assert not pid_alive(pid)


def test_qemu_dies_with_a_python_process_killed_by_sigkill(ks_paths, tmp_path):
    script = textwrap.dedent(f"""
        import sys, time
        from keystone_py.qemu import Machine
        m = Machine(firmware={str(ks_paths.sm_bin)!r}, kernel={str(ks_paths.payload_bin)!r},
                    append="hang", log_dir={str(tmp_path / "orphan")!r}, name="orphan")
        m.launch()
        m.expect({SM_BANNER!r}, timeout=30)
        print(m.pid, flush=True)
        time.sleep(600)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                             cwd=ks_paths.root)
    try:
        qemu_pid = int(child.stdout.readline())
        assert pid_alive(qemu_pid)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        deadline = time.monotonic() + 10
        while pid_alive(qemu_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not pid_alive(qemu_pid)
    finally:
        child.kill()
        child.wait()


def test_shutdown_escalates_to_sigkill_when_qemu_ignores_quit_and_sigterm(machine_factory):
    m = machine_factory(append="hang", name="stuck", shutdown_grace=1.0)
    with pytest.raises(MachineShutdownError) as err:
        with m:
            m.expect(PAYLOAD_HANG, timeout=30)
            pid = m.pid
            os.kill(pid, signal.SIGSTOP)  # a stopped QEMU answers neither QMP nor SIGTERM
            start = time.monotonic()
    assert m.killed and err.value.pid == pid
    assert time.monotonic() - start < 10
    assert not pid_alive(pid)

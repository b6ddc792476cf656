"""Machine's life cycle without QEMU: launch refusals, ports, the shutdown escalation."""

import signal
import socket
import subprocess
import sys

import pytest

from keystone_py.errors import MachineLaunchError, MachineShutdownError
from keystone_py.qemu import Machine, State, free_tcp_port

QEMU = "/usr/bin/qemu-system-riscv64"


def test_missing_firmware_is_a_launch_error_naming_the_file(tmp_path):
    m = Machine(firmware=tmp_path / "nope.bin", qemu=QEMU, log_dir=tmp_path / "logs")
    with pytest.raises(MachineLaunchError, match="nope.bin does not exist"):
        m.launch()


def test_free_tcp_port_is_bindable():
    port = free_tcp_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def running(tmp_path, ignore_sigterm: bool) -> Machine:
    """A Machine whose "QEMU" is a Python child (no QMP: shutdown starts at SIGTERM)."""
    m = Machine(firmware=None, qemu=QEMU, log_dir=tmp_path, shutdown_grace=0.3, name="fake")
    code = ("import signal, time\n"
            + ("signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" if ignore_sigterm else "")
            + "print('ready', flush=True)\ntime.sleep(60)\n")
    m._proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert m._proc.stdout.readline() == "ready\n"  # its signal handler is in place
    m.state = State.RUNNING
    return m


def test_shutdown_that_needs_sigkill_raises_once_qemu_is_gone(tmp_path):
    m = running(tmp_path, ignore_sigterm=True)
    with pytest.raises(MachineShutdownError, match="ignored QMP quit and SIGTERM") as err:
        m.shutdown()
    assert m.killed and m.state is State.CLOSED
    assert m._proc.returncode == -signal.SIGKILL
    assert err.value.pid == m._proc.pid and err.value.log_dir == tmp_path
    assert m.shutdown() == -signal.SIGKILL  # a second call: closed, no error


def test_shutdown_by_sigterm_is_no_error(tmp_path):
    m = running(tmp_path, ignore_sigterm=False)
    assert m.shutdown() == -signal.SIGTERM
    assert not m.killed


def test_a_failed_shutdown_does_not_hide_the_error_that_ended_the_with_block(tmp_path):
    m = running(tmp_path / "a", ignore_sigterm=True)
    m.__exit__(KeyError, KeyError("the test's own error"), None)  # logs, raises nothing
    assert m.killed and m.state is State.CLOSED
    m = running(tmp_path / "b", ignore_sigterm=True)
    with pytest.raises(MachineShutdownError):
        m.__exit__(None, None, None)


FAKE_QEMU = """#!{python}
import sys, time
chardev = next(a for a in sys.argv if a.startswith("file,id=console,path="))
with open(chardev.split("path=", 1)[1], "w") as con:
    con.write("booting\\nPAYLOAD DONE\\n")
print("qemu's own output")
sys.exit(3)
"""


def test_run_to_exit_and_launch_start_qemu_the_same_way(tmp_path):
    """Both paths record the argv, send QEMU's output to its log and report a
    program that cannot start as one MachineLaunchError."""
    fake = tmp_path / "fake-qemu"
    fake.write_text(FAKE_QEMU.format(python=sys.executable))
    fake.chmod(0o755)
    m = Machine(firmware=None, qemu=fake, log_dir=tmp_path / "batch", name="batch")
    result = m.run_to_exit(timeout=30, marks=["PAYLOAD DONE"])
    assert result.status == 3 and "PAYLOAD DONE" in result.marks
    assert m.state is State.CLOSED and m.pid is not None
    assert (tmp_path / "batch" / "qemu-cmdline.txt").read_text().startswith(str(fake))
    assert m.output_log_path.read_text() == "qemu's own output\n"
    for launch in (lambda m: m.launch(), lambda m: m.run_to_exit(timeout=5)):
        gone = Machine(firmware=None, qemu=tmp_path / "no-qemu", log_dir=tmp_path / "gone")
        with pytest.raises(MachineLaunchError, match="No such file") as err:
            launch(gone)
        assert err.value.argv[0] == str(tmp_path / "no-qemu")

"""Every keystone_py exception says what happened and where to look."""

from pathlib import Path

import pytest

from keystone_py import errors
from keystone_py.errors import (
    ConsoleTimeout,
    KeystoneError,
    MachineLaunchError,
    MachineShutdownError,
)


def test_console_timeout_message_carries_pattern_tail_and_log_path():
    err = ConsoleTimeout(r"^1\.\.\d+", 2.0, ["line a", "payload: hang requested"],
                         Path("/logs/console.log"))
    text = str(err)
    assert r"^1\.\.\d+" in text and "payload: hang requested" in text
    assert "/logs/console.log" in text and "2.0s" in text


def test_launch_error_message_carries_argv_code_and_output():
    err = MachineLaunchError("exited at once", ["qemu", "-bad"], 1, "qemu: invalid option\n")
    assert "qemu -bad" in str(err) and "exit code: 1" in str(err)
    assert "invalid option" in str(err)


def test_shutdown_error_names_the_machine_pid_and_logs():
    err = MachineShutdownError("boot", 4242, 3.0, Path("/logs/boot"))
    assert "boot (pid 4242)" in str(err) and "SIGKILL" in str(err) and "/logs/boot" in str(err)


@pytest.mark.parametrize("name", [n for n in dir(errors) if n.endswith("Error")
                                  or n in ("ConsoleTimeout", "ConsoleFailure", "MachineExited")])
def test_every_error_is_a_keystone_error(name):
    assert issubclass(getattr(errors, name), KeystoneError)


def test_a_bad_report_is_still_a_value_error():
    assert issubclass(errors.ReportError, ValueError)

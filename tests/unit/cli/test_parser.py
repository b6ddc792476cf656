"""`keystone-py`'s parser and the errors it gives before touching a machine."""

import logging

import pytest

from keystone_py.cli import build_parser, main

COMMANDS = ["doctor", "setup", "build", "artifacts", "host-test", "boot", "gdb", "run", "bench",
            "measure", "attest", "new"]


@pytest.fixture(autouse=True)
def restore_logging():
    """main() points the keystone_py logger at this test's stderr: put it back."""
    logger = logging.getLogger("keystone_py")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved


def test_every_command_is_there_in_order():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert list(sub.choices) == COMMANDS


def test_options_keep_their_defaults():
    args = build_parser().parse_args(["boot", "--linux", "--smp", "4"])
    assert (args.linux, args.smp, args.firmware, args.memory, args.script) == \
        (True, 4, "ours", "256M", None)
    args = build_parser().parse_args(["run", "ks-demo", "procs", "4"])
    assert (args.app, args.args, args.memory, args.timeout) == ("ks-demo", ["procs", "4"],
                                                                "512M", 600.0)


def test_an_unknown_app_is_one_line_of_error_and_status_1(capsys):
    assert main(["run", "no-such-app"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("keystone-py run: error: unknown app 'no-such-app'")
    assert "Traceback" not in err


def test_a_missing_measure_file_is_an_error_naming_it(tmp_path, capsys):
    assert main(["measure", "--loader", str(tmp_path / "l"), "--runtime", str(tmp_path / "r"),
                 "--eapp", str(tmp_path / "e")]) == 1
    assert "--loader" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--version"], ["boot", "--help"]])
def test_version_and_help_exit_0(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith(("keystone-py 0.", "usage: keystone-py boot"))

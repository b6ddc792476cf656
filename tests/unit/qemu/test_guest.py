"""The Linux guest without QEMU: kernel command lines and /init's answers."""

import pytest

from keystone_py.errors import KeystoneError
from keystone_py.qemu.guest import encode_script, kernel_cmdline, parse_peeks, parse_ready


def test_script_commands_turn_spaces_into_plus_and_join_with_commas():
    assert encode_script(["cpus", "peek 0x80000000", "poweroff"]) == \
        "cpus,peek+0x80000000,poweroff"


@pytest.mark.parametrize("bad", ["a,b", "a+b", "", "two  spaces", "tab\there"])
def test_script_commands_that_init_cannot_split_back_are_refused(bad):
    with pytest.raises(KeystoneError, match="ks.script command"):
        encode_script([bad])


def test_cmdline_has_the_serial_console_then_the_script_then_extras():
    assert kernel_cmdline(["cpus"], "quiet") == "console=ttyS0 earlycon ks.script=cpus quiet"
    assert kernel_cmdline("cpus,peek+0x1") == "console=ttyS0 earlycon ks.script=cpus,peek+0x1"
    assert kernel_cmdline() == "console=ttyS0 earlycon"
    with pytest.raises(KeystoneError, match="no white space"):
        kernel_cmdline("cpus, poweroff")


# -- /init answers -----------------------------------------------------------------------


def test_ready_marker_gives_cpus_time_and_instructions_under_icount_0():
    ready = parse_ready("junk\nkeystone-init: ready, 4 cpus online, time 727495\n")
    assert (ready.cpus, ready.time) == (4, 727495)
    assert ready.instructions(0) == 72_749_500
    assert ready.instructions(None) is None  # without -icount the clock is wall time


def test_ready_marker_with_unreadable_time_has_no_time():
    ready = parse_ready("keystone-init: ready, 1 cpus online, time unreadable (rdtime trapped)")
    assert ready.cpus == 1 and ready.time is None and ready.instructions(0) is None


def test_no_ready_marker_parses_to_none():
    assert parse_ready("Kernel panic - not syncing: No working init found.") is None


def test_peek_answers_parse_to_value_fault_or_error():
    text = ("peek 0x80200000: value 0x00010c60106f5a4d\n"
            "peek 0x80000000: fault (signal 11)\n"
            "peek 0x1: mmap refused: Operation not permitted\n")
    ok, fault, refused = parse_peeks(text)
    assert ok.addr == 0x8020_0000 and ok.value == 0x10c60106f5a4d and not ok.fault
    assert fault.addr == 0x8000_0000 and fault.fault and fault.signal == 11
    assert fault.value is None
    assert refused.error.startswith("mmap refused") and not refused.fault

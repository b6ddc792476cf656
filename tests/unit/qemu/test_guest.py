"""The Linux guest without QEMU: kernel command lines and /init's answers."""

import re

import pytest

from keystone_py.contract import (
    INIT_PROMPT_ON_CONSOLE,
    INIT_READY,
    INIT_READY_ON_CONSOLE,
)
from keystone_py.errors import KeystoneError
from keystone_py.qemu.guest import (
    LinuxGuest,
    encode_script,
    kernel_cmdline,
    parse_peeks,
    parse_ready,
    shell_status,
)


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


#: What a busy 4-hart boot printed (the clean-clone run of 2026-12-06): a kernel
#: warning inside /init's marker.
SPLICED = ("keystone-init: r[    0.673412] hrtimer: interrupt took 3869100 ns\r\n"
           "eady, 4 cpus online, time 67[    0.7] rcu: note\r\n6087\r\n")


def test_ready_marker_with_kernel_lines_spliced_in_is_still_found_and_parsed():
    m = re.search(INIT_READY_ON_CONSOLE, SPLICED)
    assert m is not None
    ready = parse_ready(m.group(0))
    assert (ready.cpus, ready.time) == (4, 676087)


def test_spliced_marker_does_not_match_before_its_last_digit_has_arrived():
    assert re.search(INIT_READY_ON_CONSOLE, SPLICED[:SPLICED.rindex("6087") + 2]) is None
    assert re.search(INIT_READY_ON_CONSOLE, "keystone-init: ready, 4 cpus online, time 67") is None


def test_unspliced_marker_matches_both_patterns_alike():
    line = "keystone-init: ready, 2 cpus online, time unreadable (rdtime trapped)\r\n"
    assert re.search(INIT_READY_ON_CONSOLE, line).group(0) == re.search(INIT_READY, line).group(0)


def test_prompt_with_a_kernel_line_inside_is_still_the_prompt():
    assert re.search(INIT_PROMPT_ON_CONSOLE, "k[   12.5] hrtimer: took 1 ns\r\ns> ")
    assert not re.search(INIT_PROMPT_ON_CONSOLE, "ks>")


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


# -- the boot-and-run sequence -----------------------------------------------------------


class ScriptedMachine:
    """A Machine stand-in: /init's console as the real one prints it, with each
    typed command answered from ``answers``; records what happened in order."""

    def __init__(self, answers):
        self.console_text = "OpenSBI-free boot\nkeystone-init: ready, 2 cpus online, time 5\nks> "
        self.answers = answers
        self.events = []
        self.pos = 0

    def expect(self, pattern, timeout=30.0):
        m = re.compile(pattern, re.M).search(self.console_text, self.pos)
        assert m, f"{pattern!r} never printed"
        self.pos = m.end()
        self.events.append(("saw", pattern))
        return m

    def sendline(self, text=""):
        self.events.append(("typed", text))
        self.console_text += text + "\n" + self.answers[text]

    def wait_exit(self, timeout=60.0):
        self.events.append(("exit",))
        return 0


@pytest.mark.parametrize("end,code", [("exit status 7", 7), ("killed by signal 11", 139)])
def test_boot_and_run_boots_to_the_prompt_runs_and_powers_off(end, code):
    m = ScriptedMachine({"run /bin/x a b": f"x says hi\n/bin/x: {end}\nks> ",
                         "poweroff": "reboot: Power down\n"})
    started = []
    run = LinuxGuest(m).boot_and_run(["/bin/x", "a", "b"], 10,
                                     on_started=lambda: started.append(list(m.events)))
    assert run.output == "x says hi" and run.exit_code == code
    assert started == [[("saw", INIT_READY_ON_CONSOLE), ("saw", INIT_PROMPT_ON_CONSOLE)]]
    assert [e for e in m.events if e[0] != "saw"] == [("typed", "run /bin/x a b"),
                                                      ("typed", "poweroff"), ("exit",)]


def test_boot_and_run_leaves_the_power_to_zcore_callers():
    m = ScriptedMachine({"run /bin/x": "/bin/x: exit status 0\nks> "})
    assert LinuxGuest(m).boot_and_run(["/bin/x"], poweroff=False).exit_code == 0
    assert ("exit",) not in m.events


def test_shell_status_is_the_status_or_128_plus_the_signal():
    assert (shell_status(3, None), shell_status(None, 9), shell_status(None, None)) == (3, 137, 1)

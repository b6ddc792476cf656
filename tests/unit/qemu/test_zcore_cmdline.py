"""zCore's command line: the root process's words joined by '?' after LOG=...:ROOTPROC=."""

import pytest

from keystone_py.errors import KeystoneError
from keystone_py.qemu.zcore import ZCORE_PANIC, ZCORE_USER_FAULT, zcore_cmdline


def test_the_root_process_and_its_words():
    assert zcore_cmdline(["/bin/hello"]) == "LOG=warn:ROOTPROC=/bin/hello"
    assert zcore_cmdline(["/bin/hello", "a", "25"], log="info") == \
        "LOG=info:ROOTPROC=/bin/hello?a?25"


@pytest.mark.parametrize("word", ["a:b", "a?b", "a b", ""])
def test_words_zcore_cannot_carry_are_refused(word):
    with pytest.raises(KeystoneError, match="cannot be passed on zCore's command line"):
        zcore_cmdline(["/bin/hello", word])


def test_a_relative_program_an_empty_argv_and_an_unknown_level_are_refused():
    with pytest.raises(KeystoneError, match="absolute path"):
        zcore_cmdline(["hello"])
    with pytest.raises(KeystoneError, match="needs a program path"):
        zcore_cmdline([])
    with pytest.raises(KeystoneError, match="log level 'loud'"):
        zcore_cmdline(["/bin/hello"], log="loud")


def test_failure_patterns_match_zcore_s_own_lines():
    import re
    assert re.search(ZCORE_PANIC, "panicked at zCore/src/platform/riscv/entry.rs:195:13:")
    assert re.search(ZCORE_USER_FAULT, "[31mfailed to handle page fault from user mode @ 0x1"
                                       "(READ): NOT_FOUND")

"""zCore, the Rust host OS, on our SM: it boots, mounts the SFS root image made by
sfs-pack and runs a statically linked glibc program as its root process, on 1 and
2 harts and on every CPU of the matrix; and the same on OpenSBI, the reference."""

import re

import pytest

from keystone_py.qemu.zcore import ZCORE_BOOTED, ZCORE_USER_FAULT

from .conftest import ZCORE_TIMEOUT

ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: zCore's log line: [ seconds LEVEL cpu pid:tid module] message
LOG_LINE = r"\[\s*[\d.]+ {level}\s+{cpu} \d+:\d+ {module}\] {message}"
#: The one ERROR zCore logs on our SM and not on OpenSBI: the device tree's PLIC
#: lists each hart's M-mode context (cause 11) beside its S-mode one, and zCore's
#: interrupt controller refuses to unmask an M-mode cause. OpenSBI removes those
#: contexts from the tree it passes on; our SM passes QEMU's tree as it is.
KNOWN_SM_ERROR = "zcore_drivers::irq::riscv_intc] invalid SCAUSE value 0xb!"
#: /bin/hello touches one byte of each 4 KiB page of a 1 MiB buffer set to 0x5a.
HEAP_SUM = (1 << 20) // 4096 * 0x5A


def fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def run_hello(zcore_guest, word: str, n: int, **kwargs) -> str:
    """Boots zCore with ``/bin/hello WORD N`` as root process; its console, without
    colours, once the program printed its last line (a zCore panic, an SM panic or
    a user fault zCore cannot handle ends the wait at once)."""
    with zcore_guest(["/bin/hello", word, str(n)], **kwargs) as m:
        m.expect(ZCORE_BOOTED, timeout=ZCORE_TIMEOUT)
        m.expect(r"zcore-hello: done", fail=[ZCORE_USER_FAULT], timeout=ZCORE_TIMEOUT)
        text = m.console_text
    return ANSI.sub("", text).replace("\r", "")


def assert_hello_ran(text: str, word: str, n: int) -> None:
    assert f"zcore-hello: argc=3 [{word}] [{n}]\n" in text, text[-3000:]
    assert f"zcore-hello: fib({n})={fib(n)}\n" in text, text[-3000:]
    assert f"zcore-hello: heap ok, sum={HEAP_SUM}\n" in text, text[-3000:]
    assert "panicked at" not in text and "page fault from user mode" not in text


@pytest.mark.parametrize("smp", [1, 2])
def test_zcore_runs_a_glibc_root_process_on_our_sm(zcore_guest, cpu, smp):
    word, n = f"sm-{cpu.name}-smp{smp}", 40 + 3 * smp + len(cpu.name)
    text = run_hello(zcore_guest, word, n, smp=smp, firmware="ours", extra_args=cpu.args,
                     log="info", name=f"ours-smp{smp}")
    assert "SM: entering S-mode at 0x80200000 on hart 0" in text
    assert_hello_ran(text, word, n)
    # Every hart came up in zCore and runs its scheduler (the log's cpu column).
    for hart in range(smp):
        assert re.search(LOG_LINE.format(level="INFO", cpu=hart, module="zcore::utils",
                                         message="executor run!"), text), f"hart {hart}"
    assert not re.search(r"hart\d+ has status|start hart\d+ failed", text)
    errors = [ln for ln in text.splitlines() if re.search(r"\bERROR\b", ln)]
    assert errors and all(KNOWN_SM_ERROR in ln for ln in errors), errors


def test_zcore_runs_the_same_program_on_opensbi(zcore_guest):
    """The reference: the same run on Debian's OpenSBI, without the ERROR line of
    our SM's device tree. One hart only: with two, OpenSBI's boot-hart lottery
    sometimes picks hart 1, and zCore then panics starting hart 0 (``start hart0
    failed. error: <SBI already available>``), a zCore/OpenSBI matter."""
    word, n = "opensbi", 50
    text = run_hello(zcore_guest, word, n, smp=1, firmware="opensbi", log="info",
                     name="opensbi")
    assert_hello_ran(text, word, n)
    assert re.search(LOG_LINE.format(level="INFO", cpu=0, module="zcore::utils",
                                     message="executor run!"), text)
    assert not re.findall(r"^.*\bERROR\b.*$", text, re.MULTILINE)

"""The zCore gaps zcore_patch/ fixes, seen from a static glibc program (/bin/gaps,
zcore_patch/rootfs/gaps.c) on our SM: each check prints `gaps: NAME ok|FAIL ...`.

Before the patches (zCore 43ff1c9 + the toolchain port), on our SM: `enosys` was
killed by its statx (`unknown syscall: STATX. exit...`, no line), `fstat` printed
`FAIL fstat(1)=-1 errno=20` (ENOTDIR), and `wait` and `thread` panicked the kernel
(`unsupported sys_clone flags: 0x1200011` / `0x3d0f00`), and a 5 ms `sleep` took
about 1 s (zCore's timer interrupt came once a second, its only chance to end a
sleep: 988,601, 996,127, 1,000,842 us), and glibc's FUTEX_WAIT_BITSET waits
returned at once (`futex FAIL timedout 1 0 1 0 after 10168 106 10071 18 us,
changed value not EAGAIN`: zCore read op 9 as WAKE), and two threads taking turns
on one hart saw each other's FP registers (`fp FAIL create=0 same=0 0`, 1 and 2 harts).
Before 0021 a parent waiting in `read` on a pipe while its child ran `execve` hung
zCore (gdb: the child's close-on-exec pass spinning on the pipe description's lock),
and before 0022 the root process read `/proc/self/exe` as empty. Before 0027 `brk`
always failed (ENOMEM); before 0028 a fork's child lost its parent's FP registers
(`forkfp FAIL child fs0=lost frm=lost`); before 0029 no signal's default action ended
a process (`abort=exit 0 kill=exit 137 term=exit 0 ignored=exit 0 chld=exit 0`)."""

import re

import pytest

from keystone_py.qemu.zcore import ZCORE_BOOTED, ZCORE_USER_FAULT

from .conftest import ZCORE_TIMEOUT

ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: check -> what its line must say besides `ok` (the values that prove it).
CHECKS = {
    "enosys": r"unknown=-1 errno=38 statx=-1 errno=38",  # ENOSYS, and the caller goes on
    "fstat": r"fstat\(1\)=0 errno=\d+ fstatat\(/bin\)=0 isdir=1",
    "wait": r"waitpid=(\d+)\(child \1\) status=0x700 exited=1 code=7",
    "thread": r"create=0 join=0 value=42",
    "fp": r"create=0 same=1 1",  # FP registers kept per thread (patch 0012)
    # posix_spawn with stdout on a pipe (Rust's Command, ks-demo procs): read to EOF, reap
    "spawn": r"eof=1 bytes=\d+ waitpid=(\d+)\(child \1\) errno=0 status=0\b",
    # the same with the parent waiting inside read while the child execs (patch 0021;
    # before it the child's execve spun forever on the pipe's lock and zCore hung)
    "spawnread": r"eof=1 bytes=\d+ waitpid=(\d+)\(child \1\) errno=0 status=0\b",
    "exe": r"readlink=9 path=/bin/gaps",  # the root process's own path (patch 0022)
    # the program break moves both ways, refuses too much, is copied by fork (patch 0027)
    "brk": r"grew=1 zero=1 shrunk=1 refused=1 child=1 own=1",
    # a fork's child has its parent's FP registers and rounding mode (patch 0028)
    "forkfp": r"child fs0=kept frm=kept",
    # default signal actions end the process, seen as WIFSIGNALED by wait (patch 0029)
    "signals": r"abort=signal 6 kill=signal 9 term=signal 15 ignored=exit 5 chld=exit 6 "
               r"exit-1=exit 255",
    # sched_getaffinity names the harts (patch 0030); the count is checked against smp
    "cpus": r"affinity=0 count=\d+",
}


#: -icount shift for the sleep check: guest time is virtual (8 ns per instruction,
#: idle harts skip ahead), so the measured sleeps do not depend on the host's load.
ICOUNT_SHIFT = 3
#: How late a 5 ms sleep may end, in virtual time: zCore's own path from the
#: timer interrupt back to the program (about 50 us measured).
SLEEP_SLACK_US = 1000


def run_gaps(zcore_guest, checks, **kwargs) -> str:
    """Boots zCore with ``/bin/gaps CHECK...``; the console once it printed `done`."""
    with zcore_guest(["/bin/gaps", *checks], **kwargs) as m:
        m.expect(ZCORE_BOOTED, timeout=ZCORE_TIMEOUT)
        m.expect(r"gaps: done", fail=[ZCORE_USER_FAULT], timeout=ZCORE_TIMEOUT)
        return ANSI.sub("", m.console_text).replace("\r", "")


def gap_line(text: str, name: str) -> "re.Match[str]":
    line = re.search(rf"^gaps: {name} (\S+) (.*)$", text, re.MULTILINE)
    assert line, f"no line for {name}:\n{text[-3000:]}"
    assert line.group(1) == "ok", line.group(0)
    return line


@pytest.mark.parametrize("smp", [1, 2])
def test_every_gap_check_passes_on_our_sm(zcore_guest, cpu, smp):
    text = run_gaps(zcore_guest, list(CHECKS), smp=smp, firmware="ours", extra_args=cpu.args,
                    name=f"gaps-smp{smp}")
    for name, values in CHECKS.items():
        line = gap_line(text, name)
        assert re.fullmatch(values, line.group(2)), line.group(0)
    assert gap_line(text, "cpus").group(2) == f"affinity=0 count={smp}"


@pytest.mark.parametrize("smp", [1, 2])
def test_a_5ms_sleep_ends_on_time(zcore_guest, cpu, smp):
    """nanosleep ends at its deadline, not at the next 1 s tick (patch 0010), with
    the SM's timer (sstc=false: through the SM's CLINT path) and Sstc's."""
    text = run_gaps(zcore_guest, ["sleep"], smp=smp, firmware="ours", extra_args=cpu.args,
                    icount=ICOUNT_SHIFT, name=f"sleep-smp{smp}")
    line = gap_line(text, "sleep")
    took = [int(x) for x in re.fullmatch(r"5000us took (\d+) (\d+) (\d+) us",
                                         line.group(2)).groups()]
    assert all(5000 <= t <= 5000 + SLEEP_SLACK_US for t in took), line.group(0)


@pytest.mark.parametrize("smp", [1, 2])
def test_futex_waits_block_until_their_timeout(zcore_guest, cpu, smp):
    """FUTEX_WAIT and glibc's FUTEX_WAIT_BITSET, shared and private, block until
    their 10 ms timeout; a changed value answers EAGAIN (patch 0011)."""
    text = run_gaps(zcore_guest, ["futex"], smp=smp, firmware="ours", extra_args=cpu.args,
                    icount=ICOUNT_SHIFT, name=f"futex-smp{smp}")
    line = gap_line(text, "futex")
    m = re.fullmatch(r"timedout 1 1 1 1 after (\d+) (\d+) (\d+) (\d+) us, changed value EAGAIN",
                     line.group(2))
    assert m, line.group(0)
    assert all(10000 <= int(t) <= 10000 + SLEEP_SLACK_US for t in m.groups()), line.group(0)

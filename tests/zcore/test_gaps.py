"""The zCore gaps zcore_patch/ fixes, seen from a static glibc program (/bin/gaps,
zcore_patch/rootfs/gaps.c) on our SM: each check prints `gaps: NAME ok|FAIL ...`.

Before the patches (zCore 43ff1c9 + the toolchain port), on our SM: `enosys` was
killed by its statx (`unknown syscall: STATX. exit...`, no line), `fstat` printed
`FAIL fstat(1)=-1 errno=20` (ENOTDIR), and `wait` and `thread` panicked the kernel
(`unsupported sys_clone flags: 0x1200011` / `0x3d0f00`)."""

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
}


@pytest.mark.parametrize("smp", [1, 2])
def test_every_gap_check_passes_on_our_sm(zcore_guest, cpu, smp):
    with zcore_guest(["/bin/gaps"], smp=smp, firmware="ours", extra_args=cpu.args,
                     name=f"gaps-smp{smp}") as m:
        m.expect(ZCORE_BOOTED, timeout=ZCORE_TIMEOUT)
        m.expect(r"gaps: done", fail=[ZCORE_USER_FAULT], timeout=ZCORE_TIMEOUT)
        text = ANSI.sub("", m.console_text).replace("\r", "")
    for name, values in CHECKS.items():
        line = re.search(rf"^gaps: {name} (\S+) (.*)$", text, re.MULTILINE)
        assert line, f"no line for {name}:\n{text[-3000:]}"
        assert line.group(1) == "ok", line.group(0)
        assert re.fullmatch(values, line.group(2)), line.group(0)

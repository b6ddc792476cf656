"""The Linux programs of examples/linux run in enclaves (files, paths, sealed
files, sockets): the guest their test module boots once, and the check lines
they print (``PREFIX: NAME ret=R errno=E [canary=ok] EXTRA``)."""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, Optional

from keystone_py.qemu import LinuxGuest, linux_machine


@contextmanager
def program_guest(ks_paths, ks_linux, log_dir: Path, name: str,
                  icount: Optional[int] = 0) -> Iterator[LinuxGuest]:
    """A 1-hart, 512 MiB guest on our SM (under ``-icount shift=icount`` unless
    None, so the programs' instruction counts are exact), at its prompt; it
    must power off cleanly."""
    with linux_machine(ks_linux, memory="512M", append_extra="quiet", log_dir=log_dir,
                       icount=icount, toolchain=ks_paths.toolchain, name=name) as m:
        g = LinuxGuest(m)
        g.wait_ready(timeout=600)
        g.wait_prompt()
        yield g
        assert g.poweroff() == 0


def check_line(prefix: str, canary: bool = True) -> re.Pattern:
    """The check lines a program printing ``prefix`` writes; with ``canary``
    they also say whether the bytes around its buffers are intact."""
    middle = r"canary=(?P<canary>\S+) ?" if canary else ""
    return re.compile(rf"^{prefix}: (?P<name>\S+) ret=(?P<ret>-?\d+) errno=(?P<errno>\d+) "
                      rf"?{middle}(?P<extra>.*)$", re.M)


def checks(line: re.Pattern, output: str) -> Dict[str, re.Match]:
    """The check lines of ``output`` by name."""
    return {m.group("name"): m for m in line.finditer(output)}


def expect(checks: Dict[str, re.Match], name: str, ret: int, errno: int = 0,
           extra: str = "") -> None:
    """Check ``name`` returned ``ret`` with ``errno``, its canaries (if it
    prints them) intact, and (if given) its ``extra`` text."""
    m = checks.get(name)
    assert m, f"no line for {name}: {sorted(checks)}"
    assert (int(m.group("ret")), int(m.group("errno"))) == (ret, errno), m.group(0)
    if "canary" in m.re.groupindex:
        assert m.group("canary") == "ok", m.group(0)
    if extra:
        assert m.group("extra") == extra, m.group(0)

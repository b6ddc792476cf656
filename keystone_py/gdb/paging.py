"""The RISC-V page-table walk GDB needs to read a host's virtual address from
M-mode (where QEMU's gdbstub reads physical memory).

Standard library only, with no package-relative imports: gdb-multiarch's own
Python loads this file by path (:mod:`.in_gdb`) as well as keystone_py."""

from __future__ import annotations

import struct
from typing import Callable

#: satp modes → page-table levels (Linux 6.1 picks Sv57 when the hart has it; zCore Sv39).
SATP_LEVELS = {8: 3, 9: 4, 10: 5}


def sv39_translate(va: int, satp: int, read_phys: Callable[[int, int], bytes]) -> int:
    """The physical address of ``va`` under ``satp`` (bare, Sv39, Sv48 or Sv57),
    walking the page tables with ``read_phys(addr, 8)``. ValueError if it is
    not mapped."""
    mode = satp >> 60
    if mode == 0:
        return va
    if mode not in SATP_LEVELS:
        raise ValueError(f"satp mode {mode} is not Sv39/48/57 (satp={satp:#x})")
    table = (satp & ((1 << 44) - 1)) << 12
    for level in reversed(range(SATP_LEVELS[mode])):
        vpn = (va >> (12 + 9 * level)) & 0x1FF
        pte = struct.unpack("<Q", read_phys(table + vpn * 8, 8))[0]
        if not pte & 1:
            raise ValueError(f"{va:#x} is not mapped (level {level} PTE {pte:#x})")
        ppn = (pte >> 10) & ((1 << 44) - 1)
        if pte & 0xE:  # R, W or X: a leaf
            offset_bits = 12 + 9 * level
            return ((ppn << 12) & ~((1 << offset_bits) - 1)) | (va & ((1 << offset_bits) - 1))
        table = ppn << 12
    raise ValueError(f"{va:#x}: no leaf PTE")

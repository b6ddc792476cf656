"""keystone_py.gdb.worlds without QEMU: PMP decoding, the Sv39 walk, create arguments."""

import struct

import pytest

from keystone_py.gdb.worlds import EnclaveLayout, decode_pmp, sv39_translate


def napot(base, size):
    return (base >> 2) | ((size >> 3) - 1)


def test_decode_pmp_napot_off_and_whole_space():
    cfg0 = 0x18 | (0x1F << 8)  # entry 0 NAPOT ---, entry 1 NAPOT rwx
    cfg2 = 0x1F << 56  # entry 15 NAPOT rwx
    addrs = [napot(0x8000_0000, 0x20_0000), napot(0x8400_0000, 0x80_0000)] + [0] * 13
    addrs.append((1 << 54) - 1)
    e = decode_pmp([cfg0, cfg2], addrs)
    assert e[0].covers(0x8000_0000, 0x20_0000) and e[0].perms == "---"
    assert e[1].covers(0x8400_0000, 0x80_0000) and e[1].perms == "rwx"
    assert all(x.mode == "OFF" for x in e[2:15])
    assert e[15].size == 1 << 64 and str(e[15]).startswith("pmp15: NAPOT")


def test_decode_pmp_tor_uses_previous_address():
    e = decode_pmp([0x08 << 8], [0x1000 >> 2, 0x3000 >> 2])
    assert (e[1].mode, e[1].base, e[1].size) == ("TOR", 0x1000, 0x2000)


def test_sv39_walk_bare_and_megapage():
    mem = {}
    root, l1 = 0x8000_0000, 0x8000_1000
    va = 0xFFFF_FFFF_C020_1234
    vpn2, vpn1 = (va >> 30) & 0x1FF, (va >> 21) & 0x1FF
    mem[root + 8 * vpn2] = ((l1 >> 12) << 10) | 1  # pointer
    mem[l1 + 8 * vpn1] = ((0x8420_0000 >> 12) << 10) | 0xF  # 2 MiB leaf rwx

    def read(addr, n):
        return struct.pack("<Q", mem.get(addr, 0))

    satp = (8 << 60) | (root >> 12)
    assert sv39_translate(va, satp, read) == 0x8420_0000 | (va & 0x1F_FFFF)
    assert sv39_translate(0x1234, 0, read) == 0x1234
    with pytest.raises(ValueError, match="not mapped"):
        sv39_translate(0x4000, satp, read)


def test_enclave_layout_parses_create_args():
    raw = struct.pack("<8Q", 1, 2, 3, 4, 5, 6, 7, 8)
    assert EnclaveLayout.parse(raw) == EnclaveLayout(1, 2, 3, 4, 5, 6, 7, 8)


def test_sv57_walk_as_linux_sets_it_up():
    """Linux 6.1 on QEMU's default hart runs Sv57: five levels to a 4 KiB page."""
    mem = {}
    va = 0xFFFF_FFD8_0123_4567
    tables = [0x8000_0000 + 0x1000 * i for i in range(5)]
    for level, table in zip((4, 3, 2, 1), tables):
        vpn = (va >> (12 + 9 * level)) & 0x1FF
        mem[table + 8 * vpn] = ((tables[4 - level + 1] >> 12) << 10) | 1
    mem[tables[4] + 8 * ((va >> 12) & 0x1FF)] = ((0x8765_4000 >> 12) << 10) | 0x7

    def read(addr, n):
        return struct.pack("<Q", mem.get(addr, 0))

    satp = (10 << 60) | (tables[0] >> 12)
    assert sv39_translate(va, satp, read) == 0x8765_4567
    with pytest.raises(ValueError, match="not Sv39/48/57"):
        sv39_translate(va, 11 << 60, read)

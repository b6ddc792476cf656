"""GDB over QEMU's gdbstub: stop in the SM, read registers, CSRs and memory."""

import pytest

from keystone_py.gdb import ElfFile, GdbSession

PAYLOAD_BASE = 0x8020_0000
SM_BASE, SM_SIZE = 0x8000_0000, 0x20_0000
# pmpaddr of a NAPOT region: (base >> 2) | ((size >> 3) - 1)
SM_NAPOT = (SM_BASE >> 2) | ((SM_SIZE >> 3) - 1)
PMP_A_NAPOT, PMP_RWX = 0x18, 0x07


@pytest.fixture
def gdb_session(machine_factory, ks_paths):
    with machine_factory(smp=1, gdb=True, name="gdb") as m:
        with GdbSession(machine=m, elf=ks_paths.sm_elf) as g:
            yield g


def test_gdb_stops_at_sm_main_on_hart_0(gdb_session, ks_paths):
    sm_main = ElfFile(ks_paths.sm_elf).symbol("sm_main")
    assert gdb_session.break_at("sm_main") == sm_main
    stop = gdb_session.cont(timeout=20)
    assert stop["reason"] == "breakpoint-hit"
    assert gdb_session.pc == sm_main
    assert gdb_session.read_register("mhartid") == 0
    assert gdb_session.read_register("a0") == 0  # hartid argument
    # mstatus.UXL and SXL (bits 32..35) read 2 (= 64-bit) on RV64.
    assert (gdb_session.read_register("mstatus") >> 32) & 0xF == 0xA


def test_gdb_sees_sm_region_locked_by_pmp_at_payload_entry(gdb_session, ks_paths):
    gdb_session.break_at_address(PAYLOAD_BASE, hardware=True)
    stop = gdb_session.cont(timeout=20)
    assert stop["reason"] == "breakpoint-hit"
    assert gdb_session.pc == PAYLOAD_BASE
    assert gdb_session.read_register("pmpaddr0") == SM_NAPOT
    cfg0 = gdb_session.read_register("pmpcfg0") & 0xFF
    assert cfg0 & 0x18 == PMP_A_NAPOT and cfg0 & PMP_RWX == 0, hex(cfg0)
    # M-mode reads memory through gdb: the payload image is where QEMU put it.
    first = ks_paths.payload_bin.read_bytes()[:16]
    assert gdb_session.read_memory(PAYLOAD_BASE, 16) == first


def test_gdb_stepi_advances_one_instruction(gdb_session, ks_paths):
    gdb_session.break_at("sm_main")
    gdb_session.cont(timeout=20)
    pc = gdb_session.pc
    gdb_session.stepi()
    assert gdb_session.pc != pc

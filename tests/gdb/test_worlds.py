"""GDB across the worlds of one enclave's start, with the conformance payload as
the host (``-append runtime``): SM create → loader entry → runtime → eapp main,
checking at each stop the privilege level and that pc lies in that world's ELF;
then the SM's PMP configuration while the enclave runs.

(The Linux host variant, starting at the host app's ioctl, is
tests/gdb/test_linux.py.)
"""

import pytest

from keystone_py.gdb.worlds import PRIV_M, PRIV_S, PRIV_U

#: The payload's enclave (payload/src/runtime_host.rs): EPM 8 MiB at 0x8400_0000,
#: UTM 64 KiB at 0x8300_0000; the SM owns 0x8000_0000 + 2 MiB.
EPM, EPM_SIZE = 0x8400_0000, 0x80_0000
UTM, UTM_SIZE = 0x8300_0000, 0x1_0000
SM_BASE, SM_SIZE = 0x8000_0000, 0x20_0000


@pytest.fixture
def stack_gdb(payload_stack, ks_gdb):
    machine, stack = payload_stack("hello")
    return ks_gdb(machine, worlds=stack.worlds(), timeout=30)


def check_stop(g, here, world, priv):
    assert here["world"] == world, here
    assert here["priv"] == priv, here
    assert g.worlds[world].contains(here["pc"]), (world, hex(here["pc"]))


def test_gdb_steps_from_sm_create_to_eapp_main(stack_gdb):
    g = stack_gdb
    [create] = g.break_in("sm", "enclave::create")
    here = g.continue_until_world("sm", timeout=60)
    check_stop(g, here, "sm", PRIV_M)
    assert here["pc"] == create
    assert "create" in here["function"]

    # The enclave's placement, read from the create arguments the host passed.
    layout = g.capture_enclave()
    assert (layout.epm_paddr, layout.epm_size) == (EPM, EPM_SIZE)
    assert (layout.utm_paddr, layout.utm_size) == (UTM, UTM_SIZE)

    # The loader's entry runs physically at the EPM base (paging still off).
    link_entry, phys_entry = g.break_in("loader", "_start")
    assert phys_entry == layout.epm_paddr and link_entry == g.worlds["loader"].elf.entry
    here = g.continue_until_world("loader", timeout=60)
    check_stop(g, here, "loader", PRIV_S)
    assert here["pc"] == layout.epm_paddr
    assert g.read_register("satp") == 0  # bare: the loader turns Sv39 on itself
    assert g.in_enclave() is True

    [rt_main] = g.break_in("runtime", "rt_main")
    here = g.continue_until_world("runtime", timeout=60)
    check_stop(g, here, "runtime", PRIV_S)
    assert here["pc"] == rt_main
    assert g.read_register("satp") >> 60 == 8  # Sv39
    # The runtime's page tables live in the EPM.
    root = (g.read_register("satp") & ((1 << 44) - 1)) << 12
    assert EPM <= root < EPM + EPM_SIZE, hex(root)

    [main] = g.break_in("eapp", "main")
    here = g.continue_until_world("eapp", timeout=60)
    check_stop(g, here, "eapp", PRIV_U)
    assert here["pc"] == main
    # The eapp's code is readable at its virtual address, as the ELF has it.
    elf = g.worlds["eapp"].elf
    seg = elf.load_segments[0]
    data = elf.path.read_bytes()
    assert g.read_memory(main, 4) == data[main - seg.vaddr + _offset(elf, seg):][:4]
    frames = [f.get("func") for f in g.backtrace()]
    assert frames[0] == "__keystone_eapp_main", frames


def _offset(elf, seg):
    from elftools.elf.elffile import ELFFile
    with open(elf.path, "rb") as f:
        for s in ELFFile(f).iter_segments():
            if s["p_type"] == "PT_LOAD" and s["p_vaddr"] == seg.vaddr:
                return s["p_offset"]
    raise AssertionError("segment not found")


def test_gdb_reads_enclave_pmp_from_sm_while_enclave_runs(stack_gdb):
    g = stack_gdb
    # In the SM's create handler the hart still has the host's configuration:
    # the SM closed, the last entry open over all memory.
    g.break_in("sm", "enclave::create")
    g.continue_until_world("sm", timeout=60)
    host = g.read_pmp()
    text = "\n".join(str(e) for e in host)
    assert host[0].covers(SM_BASE, SM_SIZE) and host[0].perms == "---", text
    assert host[-1].size == 1 << 64 and host[-1].perms == "rwx", text

    g.delete_breakpoints()
    g.break_in("runtime", "rt_main")
    here = g.continue_until_world("runtime", timeout=60)
    assert here["priv"] == PRIV_S and g.in_enclave() is True
    entries = g.read_pmp()
    text = "\n".join(str(e) for e in entries)
    # Entry 0: the SM, still closed to S and U.
    assert entries[0].covers(SM_BASE, SM_SIZE) and entries[0].perms == "---", text
    # The EPM is open (rwx) to the enclave...
    epm = [e for e in entries if e.covers(EPM, EPM_SIZE)]
    assert len(epm) == 1 and epm[0].perms == "rwx", text
    # ...and the last entry, all memory for the host, is narrowed to the UTM.
    last = entries[-1]
    assert last.mode == "NAPOT" and last.covers(UTM, UTM_SIZE) and "rw" in last.perms, text
    # Nothing else is reachable: every other entry is off or grants nothing
    # (one closes the reset device, 0x100000, to S-mode).
    others = [e for e in entries[1:-1] if e is not epm[0]]
    assert all(e.mode == "OFF" or e.perms == "---" for e in others), text
    assert any(e.covers(0x100000, 0x1000) and e.perms == "---" for e in others), text

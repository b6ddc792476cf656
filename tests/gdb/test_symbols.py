"""Rust symbols by path in the built SM (what ``--break sm:enclave::create`` finds)."""

from keystone_py.gdb import ElfFile, find_symbol


def test_rust_paths_find_mangled_symbols(ks_paths):
    sm = ElfFile(ks_paths.sm_elf)
    [(name, addr)] = find_symbol(sm, "enclave::create")
    assert name.endswith("7enclave6create") and addr
    assert find_symbol(sm, "sm_main") == [("sm_main", sm.symbol("sm_main"))]
    assert find_symbol(sm, "no_such_function_anywhere") == []

"""The per-phase attribution of `keystone-py bench --phases` (pure logic, no QEMU)."""

import pytest

from keystone_py.qemu.phases import phase_of, phase_of_symbol

pytestmark = pytest.mark.unit

SYMBOLS = [(0x8000_1000, "sm_trap_vector"), (0x8000_2000, "sm_fp_switch"),
           (0x8000_2200, "sm_fp_save"), (0x8000_3000, "sm_park")]


def test_assembly_without_lines_is_named_by_the_symbol_before_it():
    assert phase_of_symbol(SYMBOLS, 0x8000_2000) == "FP registers"
    assert phase_of_symbol(SYMBOLS, 0x8000_21fc) == "FP registers"
    assert phase_of_symbol(SYMBOLS, 0x8000_2204) == "FP registers"


def test_a_symbol_with_no_phase_or_no_symbol_at_all_names_nothing():
    assert phase_of_symbol(SYMBOLS, 0x8000_3004) is None
    assert phase_of_symbol(SYMBOLS, 0x8000_0004) is None


def test_the_innermost_frame_that_is_not_a_helper_names_the_phase():
    chain = ["/x/sm_rs/hal/src/arch/csr.rs", "/x/sm_rs/hal/src/arch/hext.rs",
             "/x/sm_rs/hal/src/arch/context.rs"]
    assert phase_of(chain) == "H/VS CSRs"
    assert phase_of(["/x/sm_rs/hal/src/arch/context.rs"]) == "S-mode CSRs, mstatus, mie"
    assert phase_of(["/x/sm_rs/src/nowhere.rs"]) == "other (nowhere.rs)"

//! Reads of lower-privilege memory through MPRV, with a fault guard.
//!
//! The SM never dereferences an S-mode pointer directly: the load runs with
//! mstatus.MPRV set, so the caller's translation and PMP apply. While it runs,
//! mtvec points at a tiny handler that records the fault and skips the load,
//! so a bad pointer comes back as an error instead of an M-mode crash. The
//! firmware reaches these only through its typed `umem::USlice`.

/// The lower-privilege address could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault;

core::arch::global_asm!(
    r#"
    .option arch, +m, +a, +f, +d, +c
    .section .text
    .balign 4
    .globl sm_mprv_expected_trap
sm_mprv_expected_trap:
    li      t1, {mprv}
    csrc    mstatus, t1
    csrr    t1, mcause
    csrr    t2, mepc
    addi    t2, t2, 4
    jr      t2
"#,
    mprv = const super::bits::MSTATUS_MPRV,
);

unsafe extern "C" {
    fn sm_mprv_expected_trap();
}

/// One guarded access: `$insn {value}, 0({va})` (a 4-byte instruction, norvc)
/// with MPRV set and mtvec pointing at `sm_mprv_expected_trap`, which drops
/// MPRV, sets t1 = mcause and jumps past the access. mtvec and mstatus (whose
/// MPP a fault overwrites) are restored right after. A fault also overwrites
/// mepc/mcause/mtval: the trap handler keeps its own copy of mepc.
/// Interrupts stay masked (M-mode, MIE = 0).
macro_rules! guarded {
    ($insn:literal, $va:expr, $value:ident, $dir:ident) => {{
        let cause: usize;
        // SAFETY: see the macro's comment: the access runs with the caller's
        // translation and PMP, and a fault is caught instead of crashing.
        unsafe {
            core::arch::asm!(
                ".option push",
                ".option norvc",
                "li t1, 0",
                "csrrw {tvec}, mtvec, {tvec}",
                "csrrs {status}, mstatus, {mprv}",
                concat!($insn, " {value}, 0({va})"),
                "csrw mstatus, {status}",
                "csrw mtvec, {tvec}",
                ".option pop",
                tvec = inout(reg) sm_mprv_expected_trap as *const () as usize => _,
                status = out(reg) _,
                mprv = in(reg) super::bits::MSTATUS_MPRV,
                va = in(reg) $va,
                value = $dir(reg) $value,
                out("t1") cause,
                out("t2") _,
            );
        }
        if cause != 0 { Err(Fault) } else { Ok(()) }
    }};
}

/// Loads a u64 at `va` as the trapped caller (mstatus.MPP) would see it.
pub fn load_u64(va: usize) -> Result<u64, Fault> {
    if !va.is_multiple_of(8) {
        return Err(Fault);
    }
    let value: u64;
    guarded!("ld", va, value, out)?;
    Ok(value)
}

/// Loads one byte at `va` as the trapped caller would see it.
pub fn load_u8(va: usize) -> Result<u8, Fault> {
    let value: usize;
    guarded!("lbu", va, value, out)?;
    Ok(value as u8)
}

/// Stores one byte at `va` as the trapped caller would.
pub fn store_u8(va: usize, value: u8) -> Result<(), Fault> {
    let value = value as usize;
    guarded!("sb", va, value, in)
}

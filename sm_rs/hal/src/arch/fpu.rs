//! Saving and restoring the FP register file across world switches
//! (Keystone does not; an enclave's FP state must not leak to the host).

/// f0..f31 and fcsr.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct FpState {
    pub f: [u64; 32],
    pub fcsr: u64,
}

impl FpState {
    /// All-zero FP state, what a fresh enclave starts with.
    pub const ZERO: Self = Self { f: [0; 32], fcsr: 0 };
}

core::arch::global_asm!(
    r#"
    .option arch, +m, +a, +f, +d, +c
    .section .text
    .globl sm_fp_swap
sm_fp_swap:
    fsd f0, 0*8(a0)
    fsd f1, 1*8(a0)
    fsd f2, 2*8(a0)
    fsd f3, 3*8(a0)
    fsd f4, 4*8(a0)
    fsd f5, 5*8(a0)
    fsd f6, 6*8(a0)
    fsd f7, 7*8(a0)
    fsd f8, 8*8(a0)
    fsd f9, 9*8(a0)
    fsd f10, 10*8(a0)
    fsd f11, 11*8(a0)
    fsd f12, 12*8(a0)
    fsd f13, 13*8(a0)
    fsd f14, 14*8(a0)
    fsd f15, 15*8(a0)
    fsd f16, 16*8(a0)
    fsd f17, 17*8(a0)
    fsd f18, 18*8(a0)
    fsd f19, 19*8(a0)
    fsd f20, 20*8(a0)
    fsd f21, 21*8(a0)
    fsd f22, 22*8(a0)
    fsd f23, 23*8(a0)
    fsd f24, 24*8(a0)
    fsd f25, 25*8(a0)
    fsd f26, 26*8(a0)
    fsd f27, 27*8(a0)
    fsd f28, 28*8(a0)
    fsd f29, 29*8(a0)
    fsd f30, 30*8(a0)
    fsd f31, 31*8(a0)
    frcsr t0
    sd t0, 32*8(a0)
    fld f0, 0*8(a1)
    fld f1, 1*8(a1)
    fld f2, 2*8(a1)
    fld f3, 3*8(a1)
    fld f4, 4*8(a1)
    fld f5, 5*8(a1)
    fld f6, 6*8(a1)
    fld f7, 7*8(a1)
    fld f8, 8*8(a1)
    fld f9, 9*8(a1)
    fld f10, 10*8(a1)
    fld f11, 11*8(a1)
    fld f12, 12*8(a1)
    fld f13, 13*8(a1)
    fld f14, 14*8(a1)
    fld f15, 15*8(a1)
    fld f16, 16*8(a1)
    fld f17, 17*8(a1)
    fld f18, 18*8(a1)
    fld f19, 19*8(a1)
    fld f20, 20*8(a1)
    fld f21, 21*8(a1)
    fld f22, 22*8(a1)
    fld f23, 23*8(a1)
    fld f24, 24*8(a1)
    fld f25, 25*8(a1)
    fld f26, 26*8(a1)
    fld f27, 27*8(a1)
    fld f28, 28*8(a1)
    fld f29, 29*8(a1)
    fld f30, 30*8(a1)
    fld f31, 31*8(a1)
    ld t0, 32*8(a1)
    fscsr t0
    ret
"#
);

unsafe extern "C" {
    fn sm_fp_swap(out: *mut FpState, into: *const FpState);
}

/// Copies the hart's FP registers into `out` and loads `into`'s, in one
/// pass, leaving mstatus.FS on: for the world switch, which writes the next
/// world's whole mstatus right after.
#[inline(always)]
pub fn swap_leaving_fs_on(out: &mut FpState, into: &FpState) {
    use super::{bits::MSTATUS_FS, csr::mstatus};
    // SAFETY: FS only gates FP instructions; the caller rewrites mstatus next.
    unsafe { mstatus::set(MSTATUS_FS) };
    // SAFETY: FS is on; `out` is exclusive, `into` valid, and they are
    // different objects (one is borrowed mutably).
    unsafe { sm_fp_swap(out, into) }
}

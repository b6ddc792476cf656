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
    .globl sm_fp_switch
sm_fp_switch:
    // a2/a3: the leaving/entering world's mstatus; FS = Initial (01) skips
    // the save / loads zeros instead.
    lui t1, 0x2
    lui t2, 0x6
    and t0, a2, t2
    beq t0, t1, 1f
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
1:  and t0, a3, t2
    beq t0, t1, 2f
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
2:
    fmv.d.x f0, zero
    fmv.d.x f1, zero
    fmv.d.x f2, zero
    fmv.d.x f3, zero
    fmv.d.x f4, zero
    fmv.d.x f5, zero
    fmv.d.x f6, zero
    fmv.d.x f7, zero
    fmv.d.x f8, zero
    fmv.d.x f9, zero
    fmv.d.x f10, zero
    fmv.d.x f11, zero
    fmv.d.x f12, zero
    fmv.d.x f13, zero
    fmv.d.x f14, zero
    fmv.d.x f15, zero
    fmv.d.x f16, zero
    fmv.d.x f17, zero
    fmv.d.x f18, zero
    fmv.d.x f19, zero
    fmv.d.x f20, zero
    fmv.d.x f21, zero
    fmv.d.x f22, zero
    fmv.d.x f23, zero
    fmv.d.x f24, zero
    fmv.d.x f25, zero
    fmv.d.x f26, zero
    fmv.d.x f27, zero
    fmv.d.x f28, zero
    fmv.d.x f29, zero
    fmv.d.x f30, zero
    fmv.d.x f31, zero
    fscsr zero
    ret
"#
);

unsafe extern "C" {
    fn sm_fp_switch(out: *mut FpState, into: *const FpState, leaving: usize, entering: usize);
}

/// Moves the FP registers from the leaving world (whose mstatus is
/// `leaving`) to the entering one (`entering`) in one pass, leaving
/// mstatus.FS on: for the world switch, which writes the next world's whole
/// mstatus right after. Whatever FS says otherwise (Off included: an OS runs
/// its kernel with FS = Off while the registers hold its user task's live
/// values), the registers are saved and loaded, except that a world whose FS
/// says Initial has nothing to save and is given zeroed registers and fcsr,
/// the initial state it declared. Either way nothing of the leaving world's
/// registers stays on the hart.
#[inline(always)]
pub fn switch_leaving_fs_on(out: &mut FpState, leaving: usize, into: &FpState, entering: usize) {
    use super::{bits::MSTATUS_FS, csr::mstatus};
    // SAFETY: FS only gates FP instructions; the caller rewrites mstatus next.
    unsafe { mstatus::set(MSTATUS_FS) };
    // SAFETY: FS is on; `out` is exclusive, `into` valid, and they are
    // different objects (one is borrowed mutably). FS = Initial is the
    // privileged spec's "the state is in its initial state", which a world
    // declares by writing it (any FP write since makes the hart show Dirty).
    unsafe { sm_fp_switch(out, into, leaving, entering) }
}

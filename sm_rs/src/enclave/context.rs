//! One world's hart state (host OS or enclave): what a world switch saves
//! and restores. Exactly the rows `sm_core::world_csrs::TABLE` marks `Swap`:
//! Keystone's set plus the FP registers, senvcfg, stimecmp, and with the H
//! extension every H/VS CSR and mstatus.MPV/GVA.

use crate::arch::bits::*;
use crate::arch::csr;
use crate::arch::fpu::{self, FpState};
use crate::arch::hext::{self, HState};
use sm_core::world_csrs::first_run_value;

/// Which optional state the hart has (from misa and the device tree).
#[derive(Clone, Copy)]
pub struct Features {
    pub sstc: bool,
    pub h: bool,
}

/// The mstatus bits swapped with a world: its S-mode bits and MPP.
const WORLD_MSTATUS: usize = MSTATUS_S_WORLD | MSTATUS_MPP_MASK;

/// A world's CSRs and FP registers while it is not on the hart (its GPRs
/// live in its frame, which the trap vector saves and restores).
#[derive(Clone, Copy)]
pub struct Context {
    pub mepc: usize,
    /// The world's bits of mstatus (SIE, SPIE, SPP, FS, SUM, MXR) and MPP,
    /// the privilege it trapped from (an enclave interrupted in its U-mode
    /// eapp must resume in U-mode, and its host in S-mode).
    pub mstatus: usize,
    /// The S-level interrupt enables (sie).
    pub mie: usize,
    pub stvec: usize,
    pub sscratch: usize,
    pub sepc: usize,
    pub scause: usize,
    pub stval: usize,
    pub satp: usize,
    pub scounteren: usize,
    pub senvcfg: usize,
    pub stimecmp: usize,
    pub vstimecmp: usize,
    pub h: HState,
    pub fp: FpState,
}

impl Context {
    /// Nothing at all: the state a new slot starts from.
    pub const ZERO: Self = Self {
        mepc: 0,
        mstatus: 0,
        mie: 0,
        stvec: 0,
        sscratch: 0,
        sepc: 0,
        scause: 0,
        stval: 0,
        satp: 0,
        scounteren: 0,
        senvcfg: first_run_value(0x10a) as usize,
        stimecmp: first_run_value(0x14d) as usize,
        vstimecmp: first_run_value(0x24d) as usize,
        h: HState::FIRST_RUN,
        fp: FpState::ZERO,
    };

    /// The world switch proper: the leaving world's CSRs and FP registers go
    /// into `out` (it trapped at `mepc`), and `into`'s onto the hart (the
    /// caller resumes `into`'s frame at `into.mepc`). One `csrrw` per CSR.
    #[inline(always)]
    pub fn switch(out: &mut Context, mepc: usize, into: &Context, f: Features) {
        let world = if f.h { WORLD_MSTATUS } else { WORLD_MSTATUS & !(MSTATUS_MPV | MSTATUS_GVA) };
        out.mepc = mepc;
        let mstatus = csr::mstatus::read();
        out.mstatus = mstatus & WORLD_MSTATUS;
        // Always, whatever FS says: an OS runs its kernel with FS = Off while
        // the registers still hold its user task's live values (Linux does),
        // and an enclave's runtime may do the same for its eapp.
        fpu::swap_leaving_fs_on(&mut out.fp, &into.fp);
        // SAFETY: installs a complete, previously saved (or freshly built)
        // world, including the privilege (MPP) the mret returns to.
        unsafe {
            // Only the SM's own bits survive from the hart (MIE, MPIE and the
            // read-only XLEN fields): nothing another world planted (TVM, TW,
            // TSR, MPRV, endianness, through QEMU's vsstatus copy) carries over.
            csr::mstatus::write((mstatus & MSTATUS_SM_KEEP) | (into.mstatus & world));
            let mie = csr::mie::read();
            out.mie = mie & MIE_S_BITS;
            csr::mie::write((mie & !MIE_S_BITS) | (into.mie & MIE_S_BITS));
            out.stvec = csr::stvec::swap(into.stvec);
            out.sscratch = csr::sscratch::swap(into.sscratch);
            out.sepc = csr::sepc::swap(into.sepc);
            out.scause = csr::scause::swap(into.scause);
            out.stval = csr::stval::swap(into.stval);
            out.satp = csr::satp::swap(into.satp);
            out.scounteren = csr::scounteren::swap(into.scounteren);
            out.senvcfg = csr::senvcfg::swap(into.senvcfg);
            if f.sstc {
                out.stimecmp = csr::stimecmp::swap(into.stimecmp);
            }
            if f.h {
                out.h.swap(&into.h);
                if f.sstc {
                    out.vstimecmp = hext::vstimecmp::swap(into.vstimecmp);
                }
            }
            // Both the translation (satp) and, just before, the PMP changed.
            core::arch::asm!("sfence.vma");
        }
    }
}

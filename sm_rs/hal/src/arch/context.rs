//! One world's hart state (host OS or enclave): what a world switch saves
//! and restores. Exactly the rows `sm_core::world_csrs::TABLE` marks `Swap`:
//! Keystone's set plus the FP registers, senvcfg, stimecmp, and with the H
//! extension every H/VS CSR and mstatus.MPV/GVA. Moved here from the
//! firmware (issue 24): the switch is nothing but CSR and FP register
//! traffic; which world runs when is the firmware's decision.

use super::bits::*;
use super::csr;
use super::fpu::{self, FpState};
use super::hext::{self, HState};
use sm_core::world_csrs::first_run_value;

/// The first-run vstimecmp: never due.
const FIRST_VSTIMECMP: usize = first_run_value(0x24d) as usize;

/// The H/VS part of the switch, with the VS timer (vstimecmp and the VSTIP
/// it drives) where the hart has Sstc. A world that is no hypervisor leaves
/// every H/VS CSR (and vstimecmp) at its FIRST_RUN value: then checking that
/// (one read each) is all the switch does when the entering world is in the
/// same case, and the full swap runs only for a world that uses H.
/// # Safety
/// The hart implements H, and Sstc if `sstc` (the rest as `HState::swap`).
#[inline(always)]
unsafe fn switch_h(out: &mut Context, into: &Context, sstc: bool) {
    // SAFETY: forwarded to the caller.
    let idle = unsafe { HState::hart_at_first_run() }
        && (!sstc || hext::vstimecmp::read() == FIRST_VSTIMECMP);
    out.h_first_run = idle;
    if !(idle && into.h_first_run) {
        // SAFETY: forwarded to the caller.
        unsafe { switch_h_in_use(out, idle, into, sstc) };
    }
}

/// `switch_h` for a world that uses H, leaving or entering.
/// # Safety
/// As `switch_h`.
#[inline(never)]
unsafe fn switch_h_in_use(out: &mut Context, idle: bool, into: &Context, sstc: bool) {
    let (values, vstimecmp) = if into.h_first_run {
        (&HState::FIRST_RUN, FIRST_VSTIMECMP)
    } else {
        (&into.h, into.vstimecmp)
    };
    // SAFETY: forwarded to the caller.
    unsafe {
        if idle {
            HState::load(values);
        } else {
            out.h.swap(values);
        }
        if sstc {
            // The VS timer is part of the world: its deadline, and the
            // VSTIP it drives (settled once the deadline is written).
            let old = hext::vstimecmp::swap(vstimecmp);
            if !idle {
                out.vstimecmp = old;
            }
            hext::settle_vstip(values.hvip, values.henvcfg);
        }
    }
}

/// Which optional state the hart has (from misa and the device tree).
#[derive(Clone, Copy)]
pub struct Features {
    pub sstc: bool,
    pub h: bool,
}

/// The mstatus bits swapped with a world: its S-mode bits (UXL included)
/// and MPP.
const WORLD_MSTATUS: usize = MSTATUS_WORLD;

/// A world's CSRs and FP registers while it is not on the hart (its GPRs
/// live in its frame, which the trap vector saves and restores).
#[derive(Clone, Copy)]
pub struct Context {
    pub mepc: usize,
    /// The world's bits of mstatus (SIE, SPIE, SPP, FS, SUM, MXR, UXL) and
    /// MPP, the privilege it trapped from (an enclave interrupted in its U-mode
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
    /// The world left every H/VS CSR (and vstimecmp) at its FIRST_RUN value,
    /// so `h` and `vstimecmp` were not written (they are stale): what the
    /// world gets back is FIRST_RUN.
    pub h_first_run: bool,
    pub fp: FpState,
}

impl Context {
    /// The state a new slot starts from: nothing, but a fresh enclave's
    /// mstatus (S-mode, 64-bit U-mode: the table's first-run value).
    pub const ZERO: Self = Self {
        mepc: 0,
        mstatus: first_run_value(0x300) as usize,
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
        h_first_run: true,
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
        // Whatever FS says but Initial: an OS runs its kernel with FS = Off
        // while the registers still hold its user task's live values (Linux
        // does), and an enclave's runtime may do the same for its eapp.
        fpu::switch_leaving_fs_on(&mut out.fp, mstatus, &into.fp, into.mstatus);
        // SAFETY: installs a complete, previously saved (or freshly built)
        // world, including the privilege (MPP) the mret returns to.
        unsafe {
            // Only the SM's own bits survive from the hart (MIE, MPIE and the
            // read-only SXL): nothing another world planted (TVM, TW, TSR,
            // MPRV, endianness, through QEMU's vsstatus copy) carries over,
            // and UXL is the arriving world's (2 for a fresh enclave).
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
                switch_h(out, into, f.sstc);
            }
            // Both the translation (satp) and, just before, the PMP changed.
            super::fence::sfence_vma();
        }
    }
}

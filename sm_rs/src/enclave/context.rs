//! One world's hart state (host OS or enclave): what a world switch saves
//! and restores. Exactly the rows `sm_core::world_csrs::TABLE` marks `Swap`:
//! Keystone's set plus the FP registers, senvcfg, stimecmp, and with the H
//! extension every H/VS CSR and mstatus.MPV/GVA.

use crate::arch::bits::*;
use crate::arch::csr;
use crate::arch::entry::TrapFrame;
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

/// A world's registers and S-mode CSRs while it is not on the hart.
#[derive(Clone, Copy)]
pub struct Context {
    pub regs: [usize; 32],
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
        regs: [0; 32],
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

    /// Captures the world that trapped: GPRs from `frame`, the rest from the hart.
    pub fn save(&mut self, frame: &TrapFrame, mepc: usize, f: Features) {
        self.regs = frame.regs;
        self.mepc = mepc;
        let mstatus = csr::mstatus::read();
        self.mstatus = mstatus & WORLD_MSTATUS;
        self.mie = csr::mie::read() & MIE_S_BITS;
        self.stvec = csr::stvec::read();
        self.sscratch = csr::sscratch::read();
        self.sepc = csr::sepc::read();
        self.scause = csr::scause::read();
        self.stval = csr::stval::read();
        self.satp = csr::satp::read();
        self.scounteren = csr::scounteren::read();
        self.senvcfg = csr::senvcfg::read();
        if f.sstc {
            self.stimecmp = csr::stimecmp::read();
        }
        if f.h {
            self.h.save();
            if f.sstc {
                self.vstimecmp = hext::vstimecmp::read();
            }
        }
        if mstatus & MSTATUS_FS != 0 {
            fpu::save(&mut self.fp);
        }
    }

    /// Puts this world on the hart: GPRs into `frame` (restored by the trap
    /// vector's mret), CSRs onto the hart, mepc where it resumes.
    pub fn restore(&self, frame: &mut TrapFrame, f: Features) {
        let world = if f.h { WORLD_MSTATUS } else { WORLD_MSTATUS & !(MSTATUS_MPV | MSTATUS_GVA) };
        frame.regs = self.regs;
        frame.regs[0] = 0;
        fpu::restore(&self.fp);
        // SAFETY: installs a complete, previously saved (or freshly built)
        // world, including the privilege (MPP) the mret returns to.
        unsafe {
            // Only the SM's own bits survive from the hart (MIE, MPIE and the
            // read-only XLEN fields): nothing another world planted (TVM, TW,
            // TSR, MPRV, endianness, through QEMU's vsstatus copy) carries over.
            let mstatus = csr::mstatus::read() & MSTATUS_SM_KEEP;
            csr::mstatus::write(mstatus | (self.mstatus & world));
            csr::mie::clear(MIE_S_BITS);
            csr::mie::set(self.mie & MIE_S_BITS);
            csr::stvec::write(self.stvec);
            csr::sscratch::write(self.sscratch);
            csr::sepc::write(self.sepc);
            csr::scause::write(self.scause);
            csr::stval::write(self.stval);
            csr::satp::write(self.satp);
            csr::scounteren::write(self.scounteren);
            csr::senvcfg::write(self.senvcfg);
            if f.sstc {
                csr::stimecmp::write(self.stimecmp);
            }
            if f.h {
                self.h.restore();
                if f.sstc {
                    hext::vstimecmp::write(self.vstimecmp);
                }
            }
            csr::mepc::write(self.mepc);
            core::arch::asm!("sfence.vma");
        }
    }
}

//! Bit positions of the M-mode CSRs the SM programs (privileged spec 1.12).

/// mstatus.SIE: supervisor interrupt enable.
pub const MSTATUS_SIE: usize = 1 << 1;
/// mstatus.SPIE: SIE before the last trap into S-mode.
pub const MSTATUS_SPIE: usize = 1 << 5;
/// mstatus.MPIE: MIE before the last trap into M-mode.
pub const MSTATUS_MPIE: usize = 1 << 7;
/// mstatus.SPP: privilege the hart came from on the last trap into S-mode.
pub const MSTATUS_SPP: usize = 1 << 8;
/// mstatus.MPP field (two bits at 11).
pub const MSTATUS_MPP_MASK: usize = 3 << 11;
/// MPP value for S-mode.
pub const MSTATUS_MPP_S: usize = 1 << 11;
/// MPP value for M-mode.
pub const MSTATUS_MPP_M: usize = 3 << 11;
/// mstatus.MPRV: M-mode loads and stores use MPP's translation and protection.
pub const MSTATUS_MPRV: usize = 1 << 17;

/// Interrupt numbers, used both as mip/mie bits and mcause codes.
pub const IRQ_S_SOFT: usize = 1;
pub const IRQ_M_SOFT: usize = 3;
pub const IRQ_S_TIMER: usize = 5;
pub const IRQ_M_TIMER: usize = 7;
pub const IRQ_S_EXT: usize = 9;

/// Exception codes the SM handles itself or routes.
pub const EXC_ECALL_U: usize = 8;
pub const EXC_ECALL_S: usize = 9;
pub const EXC_ECALL_M: usize = 11;

/// Exceptions handed straight to S-mode: misaligned fetch, breakpoint,
/// U-mode ecall and the three page faults (what a kernel handles itself).
pub const MEDELEG_DEFAULT: usize =
    (1 << 0) | (1 << 3) | (1 << EXC_ECALL_U) | (1 << 12) | (1 << 13) | (1 << 15);
/// Interrupts handed to S-mode: its own software, timer and external ones.
pub const MIDELEG_DEFAULT: usize = (1 << IRQ_S_SOFT) | (1 << IRQ_S_TIMER) | (1 << IRQ_S_EXT);
/// mcounteren: let S/U read cycle, time and instret.
pub const MCOUNTEREN_DEFAULT: usize = 0b111;
/// menvcfg.STCE: S-mode owns stimecmp (Sstc).
pub const MENVCFG_STCE: usize = 1 << 63;
/// mcause's interrupt flag.
pub const MCAUSE_INTERRUPT: usize = 1 << 63;
/// mstatus.FS field (floating-point state), two bits at 13.
pub const MSTATUS_FS: usize = 3 << 13;
/// mstatus.SUM: S-mode may touch U pages.
pub const MSTATUS_SUM: usize = 1 << 18;
/// mstatus.MXR: loads from execute-only pages.
pub const MSTATUS_MXR: usize = 1 << 19;
/// The mstatus bits that belong to the S-mode world and are swapped with it.
pub const MSTATUS_S_WORLD: usize =
    MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_FS | MSTATUS_SUM | MSTATUS_MXR;
/// The S-level interrupt-enable bits in mie (sie's view when delegated).
pub const MIE_S_BITS: usize = (1 << IRQ_S_SOFT) | (1 << IRQ_S_TIMER) | (1 << IRQ_S_EXT);

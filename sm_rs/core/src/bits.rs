//! Bit positions of the M-mode CSRs the SM programs (privileged spec 1.12);
//! `sm_hal::arch::bits` re-exports them.

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
/// mstatus.MIE: M-mode interrupt enable.
pub const MSTATUS_MIE: usize = 1 << 3;
/// mstatus.UXL: U-mode XLEN (WARL; QEMU lets S-mode set 1 = RV32).
pub const MSTATUS_UXL: usize = 3 << 32;
/// mstatus.SXL: S-mode XLEN (read-only 2 on supported harts).
pub const MSTATUS_SXL: usize = 3 << 34;
/// The mstatus bits a world switch keeps from the hart: MIE, MPIE and the
/// read-only SXL. Everything else is the arriving world's (MSTATUS_WORLD)
/// or zero (sm_core::world_csrs::MSTATUS_FIELDS).
pub const MSTATUS_SM_KEEP: usize = MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_SXL;
const _: () = assert!(MSTATUS_SM_KEEP as u64 == crate::world_csrs::MSTATUS_KEPT);
/// mstatus.VS field (vector state), two bits at 9.
pub const MSTATUS_VS: usize = 3 << 9;
/// mstatus.GVA (H): mtval holds a guest virtual address.
pub const MSTATUS_GVA: usize = 1 << 38;
/// mstatus.MPV (H): the trap came from a virtual mode (VS/VU); mret returns there.
pub const MSTATUS_MPV: usize = 1 << 39;
/// hstatus.SPV: the last trap into HS came from a virtual mode.
pub const HSTATUS_SPV: usize = 1 << 7;
/// hstatus.SPVP: the virtual privilege of that trap (1 = VS).
pub const HSTATUS_SPVP: usize = 1 << 8;
/// hstatus.GVA: stval holds a guest virtual address.
pub const HSTATUS_GVA: usize = 1 << 6;
/// misa bit of the H extension.
pub const MISA_H: usize = 1 << (b'H' - b'A');
/// misa bit of the V extension.
pub const MISA_V: usize = 1 << (b'V' - b'A');

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
/// With H: the exceptions a hypervisor host handles for its guests (ecall
/// from VS, the three guest-page faults, virtual instruction), as OpenSBI does.
pub const MEDELEG_H: usize = (1 << 10) | (1 << 20) | (1 << 21) | (1 << 22) | (1 << 23);
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
/// The mstatus bits that belong to a world and are swapped with it
/// (sm_core::world_csrs::MSTATUS_FIELDS, the `Swap` ones): its S-mode bits
/// (UXL included), the privilege it trapped from (MPP), and with H the
/// virtualisation mode it trapped from (MPV) and GVA.
pub const MSTATUS_WORLD: usize = MSTATUS_SIE
    | MSTATUS_SPIE
    | MSTATUS_SPP
    | MSTATUS_FS
    | MSTATUS_VS
    | MSTATUS_SUM
    | MSTATUS_MXR
    | MSTATUS_UXL
    | MSTATUS_MPP_MASK
    | MSTATUS_GVA
    | MSTATUS_MPV;
const _: () = assert!(MSTATUS_WORLD as u64 == crate::world_csrs::MSTATUS_WORLD);
/// The S-level interrupt-enable bits in mie (sie's view when delegated).
pub const MIE_S_BITS: usize = (1 << IRQ_S_SOFT) | (1 << IRQ_S_TIMER) | (1 << IRQ_S_EXT);

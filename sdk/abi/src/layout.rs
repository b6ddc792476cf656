//! Physical layout of the platform as the SM and the host see it.

/// Start of DRAM on QEMU `virt` and where QEMU enters the firmware.
pub const DRAM_BASE: usize = 0x8000_0000;
/// The SM owns [SM_BASE, SM_BASE + SM_SIZE): PMP-locked from S/U-mode.
pub const SM_BASE: usize = DRAM_BASE;
/// Size of the SM region (2 MiB, one NAPOT PMP entry).
pub const SM_SIZE: usize = 0x20_0000;
/// Where the SM jumps to the S-mode payload (Linux or the conformance payload).
pub const PAYLOAD_BASE: usize = SM_BASE + SM_SIZE;
/// Most harts the SM serves (Keystone's MAX_HARTS).
pub const MAX_HARTS: usize = 16;

const _: () = assert!(SM_SIZE.is_power_of_two() && SM_BASE.is_multiple_of(SM_SIZE));

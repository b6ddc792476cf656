//! Misbehaves: executes an illegal instruction, so the runtime ends the
//! enclave with FAULT_BASE + 2 (illegal instruction).
#![no_std]
#![no_main]

keystone_enclave::entry!(main);

fn main() -> usize {
    // SAFETY: deliberately traps; `unimp` is the canonical illegal instruction.
    unsafe { core::arch::asm!("unimp") };
    0
}

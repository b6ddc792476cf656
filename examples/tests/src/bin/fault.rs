//! Misbehaves: loads from the runtime's memory (mapped without the U bit),
//! so the runtime ends the enclave with FAULT_BASE + 13 (load page fault).
#![no_std]
#![no_main]

keystone_enclave::entry!(main);

fn main() -> usize {
    let runtime = keystone_abi::eyrie::vm::RUNTIME_VA as *const u64;
    // SAFETY: deliberately unsound: the point is that the access faults.
    let v = unsafe { runtime.read_volatile() };
    v as usize
}

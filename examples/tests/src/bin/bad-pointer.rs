//! Misbehaves: asks write(2) to print the runtime's memory, so the runtime
//! ends the enclave with BAD_POINTER instead of copying it out.
#![no_std]
#![no_main]

use keystone_abi::eyrie::{linux, vm};

keystone_enclave::entry!(main);

fn main() -> usize {
    // SAFETY: write(2) only reads the buffer it is given; the runtime refuses
    // this one (not the eapp's memory) and ends the enclave.
    unsafe { keystone_enclave::syscall(linux::WRITE, [1, vm::RUNTIME_VA, 64, 0, 0, 0]) }
}

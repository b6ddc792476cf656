//! The enclave runtime (`eyrie-rt`), Eyrie-compatible: entered from the
//! loader at its link address with Sv39 on and the registers of
//! docs/abi.md §4.1 (a5 = first free page). It takes the free memory,
//! loads the eapp ELF with U-bit mappings, builds the user stack, turns the
//! FPU on and drops to U-mode; then it answers the eapp's system calls and
//! ends the enclave with an error code if the eapp faults.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod entry;
#[cfg(target_os = "none")]
mod fileio;
#[cfg(target_os = "none")]
mod mem;
#[cfg(target_os = "none")]
mod netio;
#[cfg(target_os = "none")]
mod proc;
#[cfg(target_os = "none")]
mod sealedio;
#[cfg(target_os = "none")]
mod slice;
#[cfg(target_os = "none")]
mod stack;
#[cfg(target_os = "none")]
mod syscall;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("eyrie-rt is the in-enclave runtime for riscv64; build it with `keystone-py build`");
    std::process::exit(2);
}

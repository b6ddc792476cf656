//! The security monitor firmware: QEMU enters it at 0x8000_0000 in M-mode.
//!
//! Every module below is firmware-only; the pure logic they use lives in the
//! `sm` library crate (`lib.rs`) so that it can be unit-tested on the host.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![cfg_attr(target_os = "none", deny(clippy::undocumented_unsafe_blocks))]

#[cfg(target_os = "none")]
#[macro_use]
mod console;
#[cfg(target_os = "none")]
mod boot;
#[cfg(target_os = "none")]
mod csr_probe;
#[cfg(target_os = "none")]
mod dtb;
#[cfg(target_os = "none")]
mod enclave;
#[cfg(target_os = "none")]
mod hart;
#[cfg(target_os = "none")]
mod harts;
#[cfg(target_os = "none")]
mod hsm;
#[cfg(target_os = "none")]
mod ipi;
#[cfg(target_os = "none")]
mod keys;
#[cfg(target_os = "none")]
mod memory;
#[cfg(target_os = "none")]
mod panic;
#[cfg(target_os = "none")]
mod platform;
#[cfg(target_os = "none")]
mod pmp_global;
#[cfg(target_os = "none")]
mod reset;
#[cfg(target_os = "none")]
mod sbi;
#[cfg(target_os = "none")]
mod scrub;
#[cfg(target_os = "none")]
mod timer;
#[cfg(target_os = "none")]
mod trap;
#[cfg(target_os = "none")]
mod world;

#[cfg(target_os = "none")]
use sm_hal::{arch, clint, uart};

/// On the build machine the firmware has nothing to do: say how to build it.
#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("sm_rs is M-mode firmware for riscv64; build it with `keystone-py build`");
    std::process::exit(2);
}

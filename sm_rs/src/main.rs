//! The security monitor firmware: QEMU enters it at 0x8000_0000 in M-mode.
//!
//! The firmware is policy and glue: boot, platform facts, the world switch,
//! IPIs, HSM, timers and `sbi/` (the only writer of a0/a1/mepc). The pure
//! logic it calls lives in `sm-core` (`sm_rs/core`, no unsafe, host-tested),
//! the hardware access in `sm-hal` (`sm_rs/hal`). See ARCHITECTURE.md.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![cfg_attr(target_os = "none", deny(clippy::undocumented_unsafe_blocks))]
#![deny(unsafe_op_in_unsafe_fn)]
// Every hardware and physical-memory access goes through `sm-hal`'s small
// safe wrappers; only the trap entry/exit glue (the symbols the assembly
// calls, and the frames the trap vector saves into) opts back in, each item
// with its own `#[allow(unsafe_code)]` and the reason.
#![deny(unsafe_code)]

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
mod quiesce;
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
mod umem;
#[cfg(target_os = "none")]
mod world;

#[cfg(target_os = "none")]
use sm_hal::{arch, clint, cpu, uart};

/// On the build machine the firmware has nothing to do: say how to build it.
#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("sm_rs is M-mode firmware for riscv64; build it with `keystone-py build`");
    std::process::exit(2);
}

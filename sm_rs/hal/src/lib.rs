//! The security monitor's hardware layer: CSRs, the entry and trap assembly,
//! PMP registers, FP and H-extension state, MPRV-guarded access, the CLINT
//! and the UART. Everything here touches the hart or a device; the decisions
//! are the firmware's (`sm_rs`) and the pure logic is `sm-core`'s.
#![cfg_attr(not(test), no_std)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(target_os = "none")]
pub mod arch;
#[cfg(target_os = "none")]
pub mod clint;
#[cfg(target_os = "none")]
pub mod cpu;
#[cfg(target_os = "none")]
pub mod csr_probe;
pub mod phys;
#[cfg(target_os = "none")]
pub mod smmem;
#[cfg(target_os = "none")]
pub mod uart;

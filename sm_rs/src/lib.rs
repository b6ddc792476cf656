#![cfg_attr(not(test), no_std)]
pub mod create_args;
pub mod crypto;
pub mod enclave_state;
pub mod fdt_patch;
pub mod measure;
pub mod pmp;
pub mod pmp_alloc;

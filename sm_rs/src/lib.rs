#![cfg_attr(not(test), no_std)]
pub mod create_args;
pub mod crypto;
pub mod enclave_state;
pub mod fdt_patch;
pub mod measure;
pub mod pmp;
pub mod pmp_alloc;
pub mod pmp_sync;
pub mod scrub_registry;
pub mod world_csrs;

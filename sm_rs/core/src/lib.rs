//! The security monitor's core: everything the SM decides, as pure logic
//! with no `unsafe`, tested on the build machine (`cargo test -p sm-core`).
//! The firmware (`sm_rs`) calls these functions; the hardware access lives in
//! `sm-hal`. Dependency direction: firmware -> {core, hal}, hal -> core.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
pub mod bits;
pub mod boot_images;
pub mod create_args;
pub mod crypto;
pub mod enclave_state;
pub mod error;
pub mod fdt_patch;
pub mod hsm;
pub mod lifecycle;
pub mod measure;
pub mod pmp;
pub mod pmp_alloc;
pub mod pmp_policy;
pub mod pmp_sync;
pub mod pmp_view;
pub mod quiesce;
pub mod sbi_ext;
pub mod scrub_registry;
pub mod timer_policy;
pub mod trap_redirect;
pub mod umem;
pub mod world_csrs;

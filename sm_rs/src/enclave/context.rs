//! One world's hart state: the switch itself is hardware access and lives
//! in `sm_hal::arch::context`; the enclave code only decides when it runs.

pub use crate::arch::context::{Context, Features};

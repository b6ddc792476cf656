//! Everything that touches the hart directly: CSRs, entry and trap assembly.

pub use sm_core::bits;
pub mod context;
pub mod csr;
pub mod entry;
pub mod fence;
pub mod fpu;
pub mod hext;
pub mod mprv;
pub mod pmp;

//! Every constant and layout shared between the worlds, defined once.
//!
//! The security monitor, the conformance payload, the runtime and the host SDK
//! all take their numbers from here; the Python library and the driver's C
//! header are checked against this crate by a test.
#![no_std]

pub mod edge;
pub mod eyrie;
pub mod ioctl;
pub mod layout;
pub mod sm;

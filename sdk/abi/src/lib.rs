//! Every constant and layout shared between the worlds, defined once.
//!
//! The security monitor, the conformance payload, the runtime and the host SDK
//! all take their numbers from here; the Python module `keystone_py/abi.py`
//! and the C headers in `include/` are generated from this crate by
//! `cargo run -q -p keystone-abi --example dump_abi -- --write`, and
//! `tests/tools/test_abi.py` fails when a committed one is stale.
#![no_std]

pub mod edge;
pub mod eyrie;
pub mod ioctl;
pub mod layout;
pub mod sm;
pub mod switchless;

//! Every constant and layout shared between the worlds, defined once.
//!
//! The security monitor, the conformance payload, the runtime and the host SDK
//! all take their numbers from here; the Python module `keystone_py/abi.py`
//! the C headers in `include/` and the C eapp SDK's numbers
//! (`sdk/c/include/shared/eapp_abi.h`) are generated from this crate by
//! `cargo run -q -p keystone-abi --example dump_abi -- --write`, and
//! `tests/tools/test_abi.py` fails when a committed one is stale. Modules
//! whose constants all reach the headers define them with `named!`, which
//! also lists them by name (`NAMED`) for the generator.
#![no_std]

/// Defines constants and, beside them, `NAMED`: each one's name and value,
/// in order. The generators (`dump_abi`) take a module's constants from
/// there, so a constant added here reaches every header and `abi.py`
/// without being named a second time.
macro_rules! named {
    ($($(#[$attr:meta])* pub const $name:ident: $ty:ty = $value:expr;)*) => {
        $($(#[$attr])* pub const $name: $ty = $value;)*
        /// Every constant above, by name, in order (for the generators).
        pub const NAMED: &[(&str, i128)] = &[$((stringify!($name), $name as i128)),*];
    };
}

pub mod edge;
pub mod eyrie;
pub mod ioctl;
pub mod layout;
pub mod net;
pub mod sm;
pub mod switchless;

//! Host SDK: create, load, run and serve Keystone-compatible enclaves from a
//! Linux process through `/dev/keystone_enclave` (docs/abi.md §6-7).
//!
//! ```no_run
//! use keystone_host::{Enclave, Reply};
//! let mut enclave = Enclave::builder()
//!     .loader("/enclave/loader.bin")
//!     .runtime("/enclave/eyrie-rt")
//!     .eapp("/enclave/hello")
//!     .ocall(1, |args| { print!("{}", String::from_utf8_lossy(args)); Reply::None })
//!     .build()?;
//! let value = enclave.run()?;
//! # Ok::<(), keystone_host::Error>(())
//! ```
//!
//! The enclave is destroyed when the `Enclave` is dropped (the driver also
//! destroys it when the process dies).
//!
//! The crate's modules, one concern each (everything public is re-exported
//! here): `builder` ([`Builder`]), `enclave` ([`Enclave`]), `run` (the run
//! loop and its [`Driver`]), `ocalls` ([`Reply`], [`Ocalls`], [`Stats`]:
//! serving one edge call), `dispatch` (the handler table by id, and the
//! SDK's answers to calls no handler takes), `shared_mem` ([`SharedMem`]),
//! `error` ([`Error`]), `epm` (copying the files into the EPM), `sys`
//! (ioctl, mmap), [`switchless`] and [`files`].

mod builder;
mod dispatch;
mod enclave;
mod epm;
mod error;
pub mod files;
mod netsys;
mod ocalls;
mod run;
mod shared_mem;
pub mod sockets;
pub mod switchless;
mod sys;

pub use builder::Builder;
pub(crate) use dispatch::Table;
pub use enclave::Enclave;
pub use epm::EpmLoad;
pub use error::Error;
pub use files::{FilePolicy, FileServer};
pub use ocalls::{Ocalls, Reply, Stats};
pub use run::Driver;
pub use shared_mem::SharedMem;
pub use sockets::{SocketPolicy, SocketServer, Transport};

/// The driver's ioctls and mmap without the SDK's checks, for tests that
/// feed the driver bad input on purpose (still sound: each command's size is
/// its argument's, see [`keystone_abi::ioctl::Ioctl`]).
pub mod raw {
    pub use crate::sys::{ioctl_inaccessible, ioctl_with as ioctl, Mapping};
}

pub use sys::pin_current_thread;

use keystone_abi::switchless::RING_BYTES;

pub const PAGE: u64 = 4096;

/// The smallest UTM that holds the switchless ring and a page for ordinary
/// edge calls.
pub const fn switchless_min_utm() -> u64 {
    RING_BYTES as u64 + PAGE
}
/// Keystone's defaults (`Params.hpp`): 1 MiB free memory, 8 KiB UTM.
pub const DEFAULT_FREE_MEM: u64 = 1 << 20;
pub const DEFAULT_UTM_SIZE: u64 = 8 << 10;

//! The SDK's one error type: what went wrong, with the driver's errno or
//! the security monitor's code.

use keystone_abi::ioctl as kio;
use std::fmt;
use std::io;
use std::path::PathBuf;

/// What went wrong, with the code the driver or the SM gave.
#[derive(Debug)]
pub enum Error {
    /// A builder field is missing or invalid.
    Config(String),
    /// An enclave file could not be read.
    File { path: PathBuf, source: io::Error },
    /// The device could not be opened (driver not loaded?).
    Device(io::Error),
    /// An ioctl or mmap failed: the operation and the driver's errno.
    Driver { op: &'static str, source: io::Error },
    /// RUN/RESUME returned an SM code that is neither exit, edge call nor interrupt.
    Sm { op: &'static str, code: u64 },
}

impl Error {
    /// The driver's errno, when the driver refused.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Driver { source, .. } | Error::Device(source) => source.raw_os_error(),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(m) => write!(f, "enclave configuration: {m}"),
            Error::File { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Device(e) => write!(f, "{}: {e}", kio::DEVICE_PATH),
            Error::Driver { op, source } => write!(f, "driver refused {op}: {source}"),
            Error::Sm { op, code } => write!(f, "security monitor: {op} failed with {code}"),
        }
    }
}

impl std::error::Error for Error {}

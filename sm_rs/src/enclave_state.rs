//! The enclave state machine (KEYSTONE_ABI.md §1 "Enclave states"), pure.
//!
//! Each check says whether an SBI call may act on an enclave in a given state,
//! and if not, which error number the host gets.

use keystone_abi::sm::{err, state};

/// Life stage of an enclave slot, with Keystone's numeric values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum State {
    Invalid = state::INVALID,
    Destroying = state::DESTROYING,
    Allocated = state::ALLOCATED,
    Fresh = state::FRESH,
    Stopped = state::STOPPED,
    Running = state::RUNNING,
}

impl State {
    /// Keystone's number for the state, for logs and GDB.
    pub const fn value(self) -> i32 {
        self as i32
    }

    /// The state with Keystone's number `v`, if any.
    pub const fn from_value(v: i32) -> Option<Self> {
        match v {
            state::INVALID => Some(Self::Invalid),
            state::DESTROYING => Some(Self::Destroying),
            state::ALLOCATED => Some(Self::Allocated),
            state::FRESH => Some(Self::Fresh),
            state::STOPPED => Some(Self::Stopped),
            state::RUNNING => Some(Self::Running),
            _ => None,
        }
    }

    /// RUN_ENCLAVE enters only an enclave that has never run.
    pub fn can_run(self) -> Result<(), usize> {
        match self {
            Self::Fresh => Ok(()),
            _ => Err(err::NOT_FRESH),
        }
    }

    /// RESUME_ENCLAVE continues an enclave that stopped (or exited, as Keystone allows).
    pub fn can_resume(self) -> Result<(), usize> {
        match self {
            Self::Running | Self::Stopped => Ok(()),
            _ => Err(err::NOT_RESUMABLE),
        }
    }

    /// DESTROY_ENCLAVE scrubs only a settled enclave that is not running.
    ///
    /// Keystone's rule is "state <= STOPPED"; ALLOCATED and DESTROYING also
    /// pass it there, but both belong to a CREATE or DESTROY still in progress
    /// on another hart, so we refuse them rather than race with that call.
    pub fn can_destroy(self) -> Result<(), usize> {
        match self {
            Self::Fresh | Self::Stopped => Ok(()),
            _ => Err(err::NOT_DESTROYABLE),
        }
    }

    /// STOP_ENCLAVE and EXIT_ENCLAVE come only from a running enclave.
    pub fn can_stop_or_exit(self) -> Result<(), usize> {
        match self {
            Self::Running => Ok(()),
            _ => Err(err::NOT_RUNNING),
        }
    }
}

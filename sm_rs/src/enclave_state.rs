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

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [State; 6] = [
        State::Invalid,
        State::Destroying,
        State::Allocated,
        State::Fresh,
        State::Stopped,
        State::Running,
    ];

    /// The states for which `check` succeeds.
    fn allowed(check: fn(State) -> Result<(), usize>) -> Vec<State> {
        ALL.into_iter().filter(|&s| check(s).is_ok()).collect()
    }

    #[test]
    fn values_are_keystones_and_round_trip() {
        let values: Vec<i32> = ALL.iter().map(|s| s.value()).collect();
        assert_eq!(values, vec![-1, 0, 1, 2, 3, 4]);
        for s in ALL {
            assert_eq!(State::from_value(s.value()), Some(s));
        }
        assert_eq!(State::from_value(5), None);
        assert_eq!(State::from_value(-2), None);
    }

    #[test]
    fn run_needs_fresh_else_not_fresh() {
        assert_eq!(allowed(State::can_run), vec![State::Fresh]);
        assert_eq!(State::Stopped.can_run(), Err(err::NOT_FRESH));
        assert_eq!(State::Invalid.can_run(), Err(err::NOT_FRESH));
    }

    #[test]
    fn resume_needs_running_or_stopped_else_not_resumable() {
        assert_eq!(allowed(State::can_resume), vec![State::Stopped, State::Running]);
        assert_eq!(State::Fresh.can_resume(), Err(err::NOT_RESUMABLE));
    }

    #[test]
    fn destroy_needs_a_settled_enclave_not_running_else_not_destroyable() {
        assert_eq!(allowed(State::can_destroy), vec![State::Fresh, State::Stopped]);
        for s in [State::Invalid, State::Destroying, State::Allocated, State::Running] {
            assert_eq!(s.can_destroy(), Err(err::NOT_DESTROYABLE), "{s:?}");
        }
    }

    #[test]
    fn stop_and_exit_need_running_else_not_running() {
        assert_eq!(allowed(State::can_stop_or_exit), vec![State::Running]);
        assert_eq!(State::Stopped.can_stop_or_exit(), Err(err::NOT_RUNNING));
    }
}

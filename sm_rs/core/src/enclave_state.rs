//! The enclave state machine (docs/abi.md §1.4), pure.
//!
//! Each check says whether an SBI call may act on an enclave in a given state,
//! and if not, which error number the host gets.

use crate::error::SmError;
use keystone_abi::sm::state;

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
    pub fn can_run(self) -> Result<(), SmError> {
        match self {
            Self::Fresh => Ok(()),
            _ => Err(SmError::NotFresh),
        }
    }

    /// RESUME_ENCLAVE continues an enclave that stopped.
    ///
    /// Keystone also accepts RUNNING when no thread is inside it; here
    /// RUNNING always means a hart is inside it, so a second RESUME would
    /// put one enclave on two harts: refused.
    pub fn can_resume(self) -> Result<(), SmError> {
        match self {
            Self::Stopped => Ok(()),
            _ => Err(SmError::NotResumable),
        }
    }

    /// DESTROY_ENCLAVE scrubs only a settled enclave that is not running.
    ///
    /// Keystone's rule is "state <= STOPPED"; ALLOCATED and DESTROYING also
    /// pass it there, but both belong to a CREATE or DESTROY still in progress
    /// on another hart, so we refuse them rather than race with that call.
    pub fn can_destroy(self) -> Result<(), SmError> {
        match self {
            Self::Fresh | Self::Stopped => Ok(()),
            _ => Err(SmError::NotDestroyable),
        }
    }

    /// STOP_ENCLAVE and EXIT_ENCLAVE come only from a running enclave.
    pub fn can_stop_or_exit(self) -> Result<(), SmError> {
        match self {
            Self::Running => Ok(()),
            _ => Err(SmError::NotRunning),
        }
    }
}

/// One enclave's life: its state and whether it has exited. The fields are
/// private, so every transition the firmware makes goes through these
/// methods and the rules above are the only rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Life {
    state: State,
    /// EXIT leaves the enclave STOPPED (Keystone's state) but never to run again.
    exited: bool,
}

impl Life {
    /// A slot reserved by CREATE, still being set up (PMP, measurement).
    pub const fn allocated() -> Self {
        Self { state: State::Allocated, exited: false }
    }

    /// The current state, for logs and checks.
    pub const fn state(&self) -> State {
        self.state
    }

    /// True once the enclave called EXIT: it never runs again.
    pub const fn exited(&self) -> bool {
        self.exited
    }

    /// CREATE finished: the enclave may RUN.
    pub fn created(&mut self) {
        debug_assert_eq!(self.state, State::Allocated);
        self.state = State::Fresh;
    }

    /// RUN (`first`) or RESUME: the enclave goes onto a hart.
    pub fn enter(&mut self, first: bool) -> Result<(), SmError> {
        if first {
            self.state.can_run()?;
        } else {
            if self.exited {
                return Err(SmError::NotResumable);
            }
            self.state.can_resume()?;
        }
        self.state = State::Running;
        Ok(())
    }

    /// STOP (any reason) or an interrupt: the enclave leaves its hart.
    pub fn stop(&mut self) -> Result<(), SmError> {
        self.state.can_stop_or_exit()?;
        self.state = State::Stopped;
        Ok(())
    }

    /// EXIT: the enclave leaves its hart for good.
    pub fn exit(&mut self) -> Result<(), SmError> {
        self.stop()?;
        self.exited = true;
        Ok(())
    }

    /// DESTROY begins: the slot is being scrubbed.
    pub fn destroy(&mut self) -> Result<(), SmError> {
        self.state.can_destroy()?;
        self.state = State::Destroying;
        Ok(())
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
    fn allowed(check: fn(State) -> Result<(), SmError>) -> Vec<State> {
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
        assert_eq!(State::Stopped.can_run(), Err(SmError::NotFresh));
        assert_eq!(State::Invalid.can_run(), Err(SmError::NotFresh));
    }

    #[test]
    fn resume_needs_stopped_else_not_resumable() {
        assert_eq!(allowed(State::can_resume), vec![State::Stopped]);
        assert_eq!(State::Fresh.can_resume(), Err(SmError::NotResumable));
        assert_eq!(State::Running.can_resume(), Err(SmError::NotResumable));
    }

    #[test]
    fn a_life_runs_stops_resumes_exits_and_is_destroyed() {
        let mut l = Life::allocated();
        assert_eq!(l.destroy(), Err(SmError::NotDestroyable));
        assert_eq!(l.enter(true), Err(SmError::NotFresh));
        l.created();
        assert_eq!(l.enter(false), Err(SmError::NotResumable));
        assert_eq!(l.enter(true), Ok(()));
        assert_eq!(l.enter(false), Err(SmError::NotResumable), "resume of RUNNING");
        assert_eq!(l.destroy(), Err(SmError::NotDestroyable), "destroy of RUNNING");
        assert_eq!(l.stop(), Ok(()));
        assert_eq!(l.stop(), Err(SmError::NotRunning));
        assert_eq!(l.enter(true), Err(SmError::NotFresh));
        assert_eq!(l.enter(false), Ok(()));
        assert_eq!(l.exit(), Ok(()));
        assert_eq!(l.state(), State::Stopped);
        assert!(l.exited());
        assert_eq!(l.enter(false), Err(SmError::NotResumable), "resume after exit");
        assert_eq!(l.destroy(), Ok(()));
        assert_eq!(l.state(), State::Destroying);
        assert_eq!(l.destroy(), Err(SmError::NotDestroyable));
    }

    #[test]
    fn destroy_needs_a_settled_enclave_not_running_else_not_destroyable() {
        assert_eq!(allowed(State::can_destroy), vec![State::Fresh, State::Stopped]);
        for s in [State::Invalid, State::Destroying, State::Allocated, State::Running] {
            assert_eq!(s.can_destroy(), Err(SmError::NotDestroyable), "{s:?}");
        }
    }

    #[test]
    fn stop_and_exit_need_running_else_not_running() {
        assert_eq!(allowed(State::can_stop_or_exit), vec![State::Running]);
        assert_eq!(State::Stopped.can_stop_or_exit(), Err(SmError::NotRunning));
    }
}

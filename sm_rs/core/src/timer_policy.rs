//! The timer decisions of `sm_rs/src/timer.rs`, as pure functions: the
//! M-timer guard that bounds an enclave run, what is left of an enclave's
//! own request when it leaves, and whose tick a machine-timer interrupt is.
//! Time belongs to the host: nothing here lets an enclave move the host's
//! deadline or lose one of its ticks.

/// No deadline.
pub const NEVER: u64 = u64::MAX;

/// The M-timer deadline while an enclave runs: the earlier of the host's
/// deadline and the enclave's own request.
#[inline(always)]
pub fn guard(host: u64, enclave: u64) -> u64 {
    host.min(enclave)
}

/// The enclave's request after a run ends: consumed (NEVER) if it has come
/// due, kept otherwise. `now` is read only when there is a request.
#[inline(always)]
pub fn request_after_run(request: u64, now: impl FnOnce() -> u64) -> u64 {
    if request != NEVER && request <= now() {
        NEVER
    } else {
        request
    }
}

/// What the M-timer does for the host once an enclave has left the hart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostTimer {
    /// Masked: with Sstc the host's timer is its own stimecmp, or the host
    /// has no deadline.
    Quiet,
    /// Armed at the host's deadline (no Sstc: the M-timer carries it).
    Armed(u64),
}

/// The M-timer after an enclave leaves, for the host's deadline `host`.
#[inline(always)]
pub fn host_timer_after_run(sstc: bool, host: u64) -> HostTimer {
    if sstc || host == NEVER {
        HostTimer::Quiet
    } else {
        HostTimer::Armed(host)
    }
}

/// Whose a machine-timer interrupt outside an enclave is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MachineTimer {
    /// Nothing of the host's is on the M-timer: mask it.
    Mask,
    /// A guard that fired for an enclave's own request, before the host's
    /// deadline: not the host's tick, nothing to do.
    EnclaveGuard,
    /// The host's deadline has come: mask the M-timer and raise STIP.
    HostDue,
}

/// Classifies a machine-timer interrupt for the host's deadline `host`;
/// `now` is read only when the host has one on the M-timer.
#[inline(always)]
pub fn on_machine_timer(sstc: bool, host: u64, now: impl FnOnce() -> u64) -> MachineTimer {
    if sstc || host == NEVER {
        MachineTimer::Mask
    } else if now() < host {
        MachineTimer::EnclaveGuard
    } else {
        MachineTimer::HostDue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unread() -> u64 {
        panic!("time read when no deadline depends on it")
    }

    #[test]
    fn guard_is_the_earlier_deadline() {
        assert_eq!(guard(100, 50), 50);
        assert_eq!(guard(50, 100), 50);
        assert_eq!(guard(NEVER, 70), 70, "an enclave's request alone arms the guard");
        assert_eq!(guard(70, NEVER), 70, "the host's deadline bounds the run");
        assert_eq!(guard(NEVER, NEVER), NEVER);
    }

    #[test]
    fn a_due_request_is_consumed() {
        assert_eq!(request_after_run(100, || 100), NEVER);
        assert_eq!(request_after_run(100, || 250), NEVER);
    }

    #[test]
    fn a_future_request_is_kept() {
        assert_eq!(request_after_run(100, || 99), 100);
    }

    #[test]
    fn no_request_reads_no_time() {
        assert_eq!(request_after_run(NEVER, unread), NEVER);
    }

    #[test]
    fn the_host_gets_its_deadline_back_without_sstc() {
        assert_eq!(host_timer_after_run(false, 500), HostTimer::Armed(500));
        assert_eq!(host_timer_after_run(false, 0), HostTimer::Armed(0), "a past deadline fires");
        assert_eq!(host_timer_after_run(false, NEVER), HostTimer::Quiet);
    }

    #[test]
    fn with_sstc_the_m_timer_goes_quiet() {
        assert_eq!(host_timer_after_run(true, 500), HostTimer::Quiet);
    }

    #[test]
    fn machine_timer_without_a_host_deadline_is_masked() {
        assert_eq!(on_machine_timer(true, 10, unread), MachineTimer::Mask);
        assert_eq!(on_machine_timer(false, NEVER, unread), MachineTimer::Mask);
    }

    #[test]
    fn machine_timer_before_the_host_deadline_was_the_enclave_guard() {
        assert_eq!(on_machine_timer(false, 100, || 99), MachineTimer::EnclaveGuard);
    }

    #[test]
    fn machine_timer_at_or_after_the_host_deadline_is_the_host_tick() {
        assert_eq!(on_machine_timer(false, 100, || 100), MachineTimer::HostDue);
        assert_eq!(on_machine_timer(false, 100, || 101), MachineTimer::HostDue);
    }

    #[test]
    fn no_host_tick_is_lost_across_a_run() {
        // Without Sstc: the host armed 300, an enclave asked for 200 and ran
        // until the guard (200) fired at 210.
        let (host, enclave) = (300, 200);
        assert_eq!(guard(host, enclave), 200);
        assert_eq!(request_after_run(enclave, || 210), NEVER);
        assert_eq!(host_timer_after_run(false, host), HostTimer::Armed(300));
        // The re-armed M-timer fires at 300: the host's tick, delivered.
        assert_eq!(on_machine_timer(false, host, || 300), MachineTimer::HostDue);
    }
}

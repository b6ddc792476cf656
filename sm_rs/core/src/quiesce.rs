//! Decisions of the "every hart accounted for" protocol that system-wide
//! actions (SBI SRST reboot and shutdown, an SM panic) follow before they
//! scrub enclave memory and reset, kept pure so the firmware
//! (`sm_rs/src/quiesce.rs`) and the exhaustive model
//! (`tests/quiesce_model.rs`) share them.
//!
//! The protocol, with one `OWNER` word and one `HELD` hart mask:
//!
//! 1. The requester claims `OWNER` (FREE -> its hart), or, when another hart
//!    owns it, holds itself like any other hart (two resets never race).
//! 2. It posts a HALT event to every other hart the device tree lists,
//!    whatever its HSM state, and waits, bounded, until `HELD` names them all.
//! 3. A hart takes HALT only at a *safe point*: M-mode entered from a trap
//!    (after the trap handler switched an interrupted enclave out), the parked
//!    loop of a stopped hart, or the wake-up of a suspended one; never while
//!    it waits on a lock inside an SBI call (it may hold another lock). There
//!    it sets its bit in `HELD` and waits in M-mode until `OWNER` is released,
//!    serving other IPI work meanwhile (a PMP sync another hart waits for).
//! 4. With every bit set, no hart can run S- or U-mode code again: the
//!    requester scrubs, then empties the scrub registry (the registry stays
//!    valid until then, so a reset that interrupts the scrub still scrubs at
//!    the next boot), then resets.
//! 5. When the wait runs out, the requester refuses the reset: it marks
//!    `OWNER` RELEASING, waits until every held hart has cleared its bit, and
//!    frees `OWNER`. A hart that never answered keeps the reset from
//!    happening; the scrub is never skipped.

/// `OWNER` when no system-wide action is in progress.
pub const FREE: usize = 0;
/// `OWNER` while a requester that gave up lets the held harts go.
pub const RELEASING: usize = usize::MAX;

/// The `OWNER` value of a requester on `hart`.
pub const fn owner_word(hart: usize) -> usize {
    hart + 1
}

/// True when a hart that finds `owner` in `OWNER` must hold (at a safe
/// point): a requester owns the machine. A stale HALT (the requester gave up
/// or is releasing) is ignored.
pub const fn must_hold(owner: usize) -> bool {
    owner != FREE && owner != RELEASING
}

/// True when a held hart may leave its wait: the owner gave up.
pub const fn may_leave(owner: usize) -> bool {
    !must_hold(owner)
}

/// True when a hart may take a HALT event where it is now: only at a safe
/// point (no lock held, no SM call half done), never in a lock wait.
pub const fn halt_allowed(at_safe_point: bool) -> bool {
    at_safe_point
}

/// Every hart the requester must see held: every hart present but itself.
pub const fn required(present: usize, me: usize) -> usize {
    present & !(1 << me)
}

/// What the requester does after reading `HELD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// Every other hart is held: scrub and reset.
    Proceed,
    /// Some are not held yet and time remains.
    KeepWaiting,
    /// Time ran out: refuse the reset and release the held harts.
    GiveUp,
}

/// The requester's decision with `held` harts held of `required`, at time
/// `now` against its `deadline` (ticks of the machine timer).
pub const fn decide(held: usize, required: usize, now: u64, deadline: u64) -> Wait {
    if held & required == required {
        Wait::Proceed
    } else if now >= deadline {
        Wait::GiveUp
    } else {
        Wait::KeepWaiting
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_owner_is_obeyed() {
        assert!(!must_hold(FREE));
        assert!(!must_hold(RELEASING));
        assert!(must_hold(owner_word(0)));
        assert!(must_hold(owner_word(3)));
        assert!(may_leave(RELEASING) && may_leave(FREE) && !may_leave(owner_word(1)));
    }

    #[test]
    fn the_requester_waits_for_every_other_hart() {
        let req = required(0b1111, 1);
        assert_eq!(req, 0b1101);
        assert_eq!(decide(0b1101, req, 0, 10), Wait::Proceed);
        assert_eq!(decide(0b1111, req, 99, 10), Wait::Proceed);
        assert_eq!(decide(0b0101, req, 5, 10), Wait::KeepWaiting);
        assert_eq!(decide(0b0101, req, 10, 10), Wait::GiveUp);
        assert_eq!(decide(0, required(0b1, 0), 0, 0), Wait::Proceed);
    }

    #[test]
    fn halt_is_taken_only_at_safe_points() {
        assert!(halt_allowed(true));
        assert!(!halt_allowed(false));
    }
}

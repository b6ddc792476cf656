//! Decisions of the machine-wide PMP synchronisation protocol, kept pure so
//! the firmware and the exhaustive model (`tests/pmp_sync_model.rs`) share
//! them.
//!
//! The SM keeps one PMP policy for every hart. When CREATE or DESTROY
//! changes it, the policy's generation `GEN` is bumped under the allocator
//! lock, and each hart records in `APPLIED[hart]` the generation of the host
//! image it last programmed. Two mechanisms then keep a stale image from
//! reaching S-mode:
//!
//! * the sender posts a PMP-sync IPI to every hart that [`sync_target`]
//!   names and waits for each acknowledgement before it measures;
//! * a hart leaving the SM's parked or suspended paths (or entering an
//!   enclave) passes a gate: it publishes `STARTED`, fences, serves pending
//!   IPIs, then re-applies the host image if [`needs_apply`] says so.
//!
//! Either the sender sees the hart's new state and waits for it, or the
//! hart sees the sender's new generation; the model checks that no
//! interleaving escapes both.

pub use crate::hsm::HsmState;

/// True when a hart in `state` must acknowledge a PMP sync before the
/// sender may measure (CREATE) or hand memory back (DESTROY).
///
/// Only `STOPPED` is skipped: a stopped hart sits in the parked loop and
/// reaches S-mode only through the gate, which publishes `STARTED` and then
/// re-checks the generation, so it cannot miss the change. Every other state
/// may run S-mode code without passing the gate again (`STARTED`), or is
/// between the sender's read and the gate (`START_PENDING`, `SUSPENDED`,
/// `STOP_PENDING`, and the two SBI transition states this SM never stores,
/// taken conservatively): targeting those too means safety does not rest on
/// the gate's fence alone, and each of them serves IPIs (parked loop,
/// suspend wake, gate) so the sender's wait ends.
pub const fn sync_target(state: HsmState) -> bool {
    !matches!(state, HsmState::Stopped)
}

/// [`sync_target`] for a raw SBI state; unknown values (no hart present)
/// are not targets.
pub const fn sync_target_sbi(raw: usize) -> bool {
    match HsmState::from_sbi(raw) {
        Some(state) => sync_target(state),
        None => false,
    }
}

/// The `APPLIED` value of a hart that never programmed the host image, so
/// [`needs_apply`] holds for it whatever `GEN` is (generations start at 0
/// and would need 2^64 - 1 policy changes to reach it).
pub const NEVER_APPLIED: usize = usize::MAX;

/// True when a hart that last applied generation `applied` must re-apply
/// the host image before running S-mode code, the policy being at
/// `current` now.
///
/// Inequality, not `<`: generations only grow, so any difference means the
/// image is older, and the comparison stays right if the counter wraps.
pub const fn needs_apply(applied: usize, current: usize) -> bool {
    applied != current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_stopped_and_absent_harts_are_skipped() {
        for state in HsmState::ALL {
            assert_eq!(sync_target(state), state != HsmState::Stopped);
            assert_eq!(sync_target_sbi(state.sbi()), sync_target(state));
        }
        assert!(!sync_target_sbi(usize::MAX));
    }

    #[test]
    fn the_sync_mask_skips_stopped_and_absent_harts_only() {
        use crate::hsm::{four_cells, mask};
        let cells = four_cells();
        let sync = |r: crate::hsm::Remote<'_>| r.status_for_sync().is_some_and(sync_target);
        assert_eq!(mask(&cells, sync), 0b101);
        assert!(cells[1].remote().request_start(0, 0));
        assert_eq!(mask(&cells, sync), 0b111, "a START_PENDING hart acknowledges syncs");
    }

    #[test]
    fn never_applied_always_needs_apply() {
        assert!(needs_apply(NEVER_APPLIED, 0));
        assert!(needs_apply(0, 1));
        assert!(!needs_apply(3, 3));
    }
}

//! The HSM cell of every hart, and the masks other modules derive from it:
//! a leaf that `hsm` (which drives the transitions) and the PMP and IPI code
//! (which read the states) share. The cell and its transitions are
//! `sm_core::hsm::HsmCell`.

use keystone_abi::layout::MAX_HARTS;
use sm_core::hsm::{self, HsmCell, HsmState};

/// Every hart's cell, indexed by hart id.
pub static HARTS: [HsmCell; MAX_HARTS] = [const { HsmCell::new() }; MAX_HARTS];

/// Bit mask of the harts that must acknowledge a PMP sync: every hart that
/// is in S-mode or on its way there or back (anything but STOPPED).
pub fn sync_mask() -> usize {
    hsm::mask(&HARTS, |h| h.status_for_sync().is_some_and(sm_core::pmp_sync::sync_target))
}

/// Bit mask of the harts currently running S-mode code (targets for IPIs).
pub fn started_mask() -> usize {
    hsm::mask(&HARTS, |h| h.status().is_some_and(HsmState::runs_supervisor))
}

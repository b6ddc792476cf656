//! The HSM state of every hart, and the masks other modules derive from it:
//! a leaf that `hsm` (which changes the states) and the PMP and IPI code
//! (which read them) share.

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use keystone_abi::layout::MAX_HARTS;
use sbi_spec::hsm::hart_state;

/// The state of a hart the device tree does not list.
pub const NOT_PRESENT: usize = usize::MAX;

/// One hart's HSM state and its pending start request.
pub struct HartSlot {
    pub state: AtomicUsize,
    pub start_requested: AtomicBool,
    pub start_addr: AtomicUsize,
    pub start_arg: AtomicUsize,
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: HartSlot = HartSlot {
    state: AtomicUsize::new(NOT_PRESENT),
    start_requested: AtomicBool::new(false),
    start_addr: AtomicUsize::new(0),
    start_arg: AtomicUsize::new(0),
};
/// Every hart's slot, indexed by hart id.
pub static HARTS: [HartSlot; MAX_HARTS] = [EMPTY; MAX_HARTS];

/// Bit mask of the harts that must acknowledge a PMP sync: every hart that
/// is in S-mode or on its way there or back (anything but STOPPED).
pub fn sync_mask() -> usize {
    HARTS.iter().enumerate().fold(0, |mask, (id, slot)| {
        let state = slot.state.load(Ordering::SeqCst);
        match sm_core::pmp_sync::HsmState::from_sbi(state) {
            Some(s) if sm_core::pmp_sync::sync_target(s) => mask | (1 << id),
            _ => mask,
        }
    })
}

/// Bit mask of the harts currently running S-mode code (targets for IPIs).
pub fn started_mask() -> usize {
    HARTS.iter().enumerate().fold(0, |mask, (id, slot)| match slot.state.load(Ordering::Acquire) {
        hart_state::STARTED | hart_state::SUSPENDED => mask | (1 << id),
        _ => mask,
    })
}

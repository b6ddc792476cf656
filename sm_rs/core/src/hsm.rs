//! One hart's SBI HSM state as a cell with typed transitions, so every state
//! change the firmware makes is one of the methods below and the raw number
//! never leaves this module.
//!
//! The cell has two views. [`Remote`] is what any hart may do to another:
//! read its status, ask a stopped hart to start (STOPPED -> START_PENDING,
//! with the start address and argument handed over). [`Local`] is what a
//! hart does to its own cell: stop (STARTED -> STOP_PENDING -> STOPPED),
//! take a start request and run (START_PENDING -> STARTED), suspend and
//! resume (STARTED <-> SUSPENDED). The firmware keeps one cell per hart
//! (`sm_rs/src/harts.rs`) and drives the transitions from `hsm.rs`.
//!
//! The orderings are the firmware's protocol: the PMP sync (`pmp_sync`)
//! reads states with SeqCst, so the stores a hart makes on its way into
//! S-mode (STARTED, SUSPENDED) are SeqCst too.

use crate::pmp::Range;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// An SBI HSM hart state (SBI v2.0, chapter 9: `sbi_hart_get_status`).
///
/// The discriminants are the numbers SBI returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum HsmState {
    /// Running S-mode code, or in the SM on its behalf.
    Started = 0,
    /// Parked in the SM, waiting for hart_start.
    Stopped = 1,
    /// hart_start accepted; the hart has not reached S-mode yet.
    StartPending = 2,
    /// hart_stop accepted; the hart is on its way to the parked loop.
    StopPending = 3,
    /// In hart_suspend, waiting for an interrupt.
    Suspended = 4,
    /// Going into suspend (SBI state; this SM goes to SUSPENDED directly).
    SuspendPending = 5,
    /// Coming out of suspend (SBI state; this SM goes to STARTED directly).
    ResumePending = 6,
}

impl HsmState {
    /// Every state, in SBI order.
    pub const ALL: [HsmState; 7] = [
        HsmState::Started,
        HsmState::Stopped,
        HsmState::StartPending,
        HsmState::StopPending,
        HsmState::Suspended,
        HsmState::SuspendPending,
        HsmState::ResumePending,
    ];

    /// The state SBI numbers `raw`, or `None` (e.g. the cell's "hart not
    /// present" marker, which is no hart that could run S-mode).
    pub const fn from_sbi(raw: usize) -> Option<HsmState> {
        Some(match raw {
            0 => HsmState::Started,
            1 => HsmState::Stopped,
            2 => HsmState::StartPending,
            3 => HsmState::StopPending,
            4 => HsmState::Suspended,
            5 => HsmState::SuspendPending,
            6 => HsmState::ResumePending,
            _ => return None,
        })
    }

    /// The number SBI uses for this state.
    pub const fn sbi(self) -> usize {
        self as usize
    }

    /// True while the hart runs S-mode code or waits in suspend to resume
    /// it: the harts an S-mode IPI or fence concerns.
    pub const fn runs_supervisor(self) -> bool {
        matches!(self, HsmState::Started | HsmState::Suspended)
    }
}

/// The raw value of a hart the device tree does not list.
const NOT_PRESENT: usize = usize::MAX;

/// One hart's HSM state and its pending start request.
pub struct HsmCell {
    state: AtomicUsize,
    start_requested: AtomicBool,
    start_addr: AtomicUsize,
    start_arg: AtomicUsize,
}

impl Default for HsmCell {
    fn default() -> Self {
        Self::new()
    }
}

impl HsmCell {
    /// A cell for a hart that is not present (a static's initial value).
    pub const fn new() -> Self {
        Self {
            state: AtomicUsize::new(NOT_PRESENT),
            start_requested: AtomicBool::new(false),
            start_addr: AtomicUsize::new(0),
            start_arg: AtomicUsize::new(0),
        }
    }

    /// Boot: the hart exists, and is the boot hart (STARTED) or not (STOPPED).
    pub fn present(&self, boot_hart: bool) {
        let state = if boot_hart { HsmState::Started } else { HsmState::Stopped };
        self.state.store(state.sbi(), Ordering::Release);
    }

    /// What other harts may do with this hart.
    pub fn remote(&self) -> Remote<'_> {
        Remote(self)
    }

    /// What this hart does with its own state (only the hart the cell is for).
    pub fn local(&self) -> Local<'_> {
        Local(self)
    }

    fn load(&self, order: Ordering) -> Option<HsmState> {
        HsmState::from_sbi(self.state.load(order))
    }

    fn set(&self, to: HsmState) {
        self.state.store(to.sbi(), Ordering::SeqCst);
    }

    fn swap(&self, from: HsmState, to: HsmState) -> bool {
        self.state
            .compare_exchange(from.sbi(), to.sbi(), Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

/// Another hart's view of a cell.
#[derive(Clone, Copy)]
pub struct Remote<'a>(&'a HsmCell);

impl Remote<'_> {
    /// The state hart_get_status reports; None for a hart not present.
    pub fn status(self) -> Option<HsmState> {
        self.0.load(Ordering::Acquire)
    }

    /// The state as the PMP sync reads it (SeqCst, see `pmp_sync`).
    pub fn status_for_sync(self) -> Option<HsmState> {
        self.0.load(Ordering::SeqCst)
    }

    /// hart_start: a STOPPED hart becomes START_PENDING and will start at
    /// `addr` with `arg`; false (nothing changed) in any other state.
    pub fn request_start(self, addr: usize, arg: usize) -> bool {
        if !self.0.swap(HsmState::Stopped, HsmState::StartPending) {
            return false;
        }
        // Only the winner of the swap gets here, and the parked hart reads
        // these only after it sees the flag (Release/Acquire).
        self.0.start_addr.store(addr, Ordering::Relaxed);
        self.0.start_arg.store(arg, Ordering::Relaxed);
        self.0.start_requested.store(true, Ordering::Release);
        true
    }
}

/// A hart's view of its own cell.
#[derive(Clone, Copy)]
pub struct Local<'a>(&'a HsmCell);

impl Local<'_> {
    /// hart_stop: STARTED -> STOP_PENDING; false (nothing changed) otherwise.
    pub fn begin_stop(self) -> bool {
        self.0.swap(HsmState::Started, HsmState::StopPending)
    }

    /// The hart reached the parked loop: STOP_PENDING -> STOPPED (a hart
    /// parked at boot is STOPPED already and stays so).
    pub fn parked(self) {
        let _ = self.0.swap(HsmState::StopPending, HsmState::Stopped);
    }

    /// The start request hart_start left for this parked hart, taken once:
    /// (start address, argument).
    pub fn take_start(self) -> Option<(usize, usize)> {
        if !self.0.start_requested.swap(false, Ordering::Acquire) {
            return None;
        }
        Some((self.0.start_addr.load(Ordering::Relaxed), self.0.start_arg.load(Ordering::Relaxed)))
    }

    /// The started hart is about to run S-mode code (after `take_start`).
    pub fn started(self) {
        self.0.set(HsmState::Started);
    }

    /// hart_suspend: the hart waits for an interrupt.
    pub fn suspend(self) {
        self.0.set(HsmState::Suspended);
    }

    /// The interrupt came: back to STARTED.
    pub fn resume(self) {
        self.0.set(HsmState::Started);
    }
}

/// Bit mask of the cells (hart ids = indexes) whose state `pick` selects.
pub fn mask(cells: &[HsmCell], pick: impl Fn(Remote<'_>) -> bool) -> usize {
    cells.iter().enumerate().fold(0, |m, (id, c)| if pick(c.remote()) { m | (1 << id) } else { m })
}

/// Why an HSM call's arguments are refused, before any state changes (the
/// firmware answers SBI_ERR_INVALID_PARAM or SBI_ERR_INVALID_ADDRESS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgError {
    /// No such hart, or an unknown suspend type.
    InvalidParam,
    /// An address S-mode may not name, or a misaligned start address.
    InvalidAddress,
}

/// SBI's retentive suspend type (SBI v2.0, 9.4).
pub const SUSPEND_RETENTIVE: usize = 0;
/// SBI's non-retentive suspend type.
pub const SUSPEND_NON_RETENTIVE: usize = 0x8000_0000;

/// How a hart suspends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suspend {
    /// Waits for an interrupt, then returns from the call.
    Retentive,
    /// Waits for an interrupt, then restarts S-mode at this address.
    NonRetentive(usize),
}

/// The 4 bytes at `addr` are memory the host may name (`may_access`).
fn executable(addr: usize, may_access: impl FnOnce(&Range) -> bool) -> bool {
    Range::new(addr, 4).is_ok_and(|r| may_access(&r))
}

/// hart_start's checks: the hart exists, and the start address is memory
/// the host may name, 2-byte aligned (IALIGN with C).
pub fn check_start(
    hart_exists: bool,
    start_addr: usize,
    may_access: impl FnOnce(&Range) -> bool,
) -> Result<(), ArgError> {
    if !hart_exists {
        return Err(ArgError::InvalidParam);
    }
    if !executable(start_addr, may_access) || !start_addr.is_multiple_of(2) {
        return Err(ArgError::InvalidAddress);
    }
    Ok(())
}

/// hart_suspend's checks: a known suspend type (a 32-bit value), and for a
/// non-retentive suspend a resume address the host may name.
pub fn check_suspend(
    kind: usize,
    resume_addr: usize,
    may_access: impl FnOnce(&Range) -> bool,
) -> Result<Suspend, ArgError> {
    match kind {
        SUSPEND_RETENTIVE => Ok(Suspend::Retentive),
        SUSPEND_NON_RETENTIVE if executable(resume_addr, may_access) => {
            Ok(Suspend::NonRetentive(resume_addr))
        }
        SUSPEND_NON_RETENTIVE => Err(ArgError::InvalidAddress),
        _ => Err(ArgError::InvalidParam),
    }
}

/// Four harts for the mask tests: 0 started, 1 stopped (present, not booted), 2
/// suspended, 3 absent.
#[cfg(test)]
pub(crate) fn four_cells() -> [HsmCell; 4] {
    let cells: [HsmCell; 4] = core::array::from_fn(|_| HsmCell::new());
    cells[0].present(true);
    cells[1].present(false);
    cells[2].present(true);
    cells[2].local().suspend();
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sbi_numbers_round_trip() {
        for (n, state) in HsmState::ALL.into_iter().enumerate() {
            assert_eq!(state.sbi(), n);
            assert_eq!(HsmState::from_sbi(n), Some(state));
        }
        assert_eq!(HsmState::from_sbi(7), None);
        assert_eq!(HsmState::from_sbi(NOT_PRESENT), None);
    }

    #[test]
    fn the_numbers_are_sbi_specs() {
        use sbi_spec::hsm::hart_state as sbi;
        let spec = [
            sbi::STARTED,
            sbi::STOPPED,
            sbi::START_PENDING,
            sbi::STOP_PENDING,
            sbi::SUSPENDED,
            sbi::SUSPEND_PENDING,
            sbi::RESUME_PENDING,
        ];
        assert_eq!(HsmState::ALL.map(HsmState::sbi), spec);
    }

    #[test]
    fn an_absent_hart_has_no_status_and_cannot_be_started() {
        let c = HsmCell::new();
        assert_eq!(c.remote().status(), None);
        assert!(!c.remote().request_start(0x8020_0000, 1));
        assert_eq!(c.local().take_start(), None);
        assert_eq!(c.remote().status(), None);
    }

    #[test]
    fn a_stopped_hart_starts_once_with_the_first_request() {
        let c = HsmCell::new();
        c.present(false);
        assert_eq!(c.remote().status(), Some(HsmState::Stopped));
        assert!(c.remote().request_start(0x8020_0000, 7));
        assert_eq!(c.remote().status(), Some(HsmState::StartPending));
        assert!(!c.remote().request_start(0x8030_0000, 8), "already pending");
        assert_eq!(c.local().take_start(), Some((0x8020_0000, 7)));
        assert_eq!(c.local().take_start(), None, "taken once");
        c.local().started();
        assert_eq!(c.remote().status(), Some(HsmState::Started));
        assert!(!c.remote().request_start(0x8030_0000, 8), "already started");
    }

    #[test]
    fn stop_goes_through_stop_pending_and_only_from_started() {
        let c = HsmCell::new();
        c.present(true);
        assert!(c.local().begin_stop());
        assert_eq!(c.remote().status(), Some(HsmState::StopPending));
        assert!(!c.local().begin_stop());
        assert!(!c.remote().request_start(0x8020_0000, 0), "not stopped yet");
        c.local().parked();
        assert_eq!(c.remote().status(), Some(HsmState::Stopped));
        c.local().parked();
        assert_eq!(c.remote().status(), Some(HsmState::Stopped), "parking twice is a no-op");
        assert!(c.remote().request_start(0x8020_0000, 0));
        c.local().parked();
        assert_eq!(c.remote().status(), Some(HsmState::StartPending), "parked keeps a request");
    }

    #[test]
    fn suspend_and_resume() {
        let c = HsmCell::new();
        c.present(true);
        c.local().suspend();
        assert_eq!(c.remote().status(), Some(HsmState::Suspended));
        assert!(!c.local().begin_stop(), "a suspended hart does not stop");
        c.local().resume();
        assert_eq!(c.remote().status(), Some(HsmState::Started));
    }

    #[test]
    fn masks_pick_by_state() {
        let cells = four_cells();
        let supervisor = |r: Remote<'_>| r.status().is_some_and(HsmState::runs_supervisor);
        assert_eq!(mask(&cells, supervisor), 0b101);
        assert!(cells[1].remote().request_start(0, 0));
        assert_eq!(mask(&cells, supervisor), 0b101, "START_PENDING runs no S-mode code yet");
        let pending = |r: Remote<'_>| r.status_for_sync() == Some(HsmState::StartPending);
        assert_eq!(mask(&cells, pending), 0b010);
    }

    #[test]
    fn racing_starts_have_one_winner_whose_request_the_hart_takes() {
        use std::sync::Arc;
        for round in 0..200 {
            let cell = Arc::new(HsmCell::new());
            cell.present(false);
            let senders: Vec<_> = (0..4)
                .map(|t| {
                    let c = Arc::clone(&cell);
                    std::thread::spawn(move || c.remote().request_start(0x1000 * (t + 1), t))
                })
                .collect();
            let won: Vec<usize> = senders
                .into_iter()
                .enumerate()
                .filter_map(|(t, h)| h.join().unwrap().then_some(t))
                .collect();
            assert_eq!(won.len(), 1, "round {round}: {won:?}");
            let t = won[0];
            assert_eq!(cell.local().take_start(), Some((0x1000 * (t + 1), t)));
        }
    }

    #[test]
    fn a_parked_hart_sees_the_address_stored_before_the_flag() {
        use std::sync::Arc;
        for round in 0..200usize {
            let cell = Arc::new(HsmCell::new());
            cell.present(false);
            let hart = {
                let c = Arc::clone(&cell);
                std::thread::spawn(move || loop {
                    if let Some(start) = c.local().take_start() {
                        c.local().started();
                        return start;
                    }
                    std::thread::yield_now();
                })
            };
            assert!(cell.remote().request_start(0x8020_0000 + round, round));
            assert_eq!(hart.join().unwrap(), (0x8020_0000 + round, round));
            assert_eq!(cell.remote().status(), Some(HsmState::Started));
        }
    }
}

#[cfg(test)]
mod arg_tests {
    use super::*;

    const DRAM: Range = Range { base: 0x8020_0000, size: 0x100_0000 };

    fn host_memory(r: &Range) -> bool {
        DRAM.contains(r)
    }

    #[test]
    fn start_on_a_missing_hart_is_invalid_param() {
        assert_eq!(check_start(false, DRAM.base, host_memory), Err(ArgError::InvalidParam));
    }

    #[test]
    fn start_at_host_memory_is_accepted() {
        assert_eq!(check_start(true, DRAM.base, host_memory), Ok(()));
        assert_eq!(check_start(true, DRAM.base + 2, host_memory), Ok(()), "IALIGN 16 with C");
    }

    #[test]
    fn start_outside_host_memory_or_odd_is_invalid_address() {
        assert_eq!(check_start(true, 0x8000_0000, host_memory), Err(ArgError::InvalidAddress));
        assert_eq!(check_start(true, DRAM.base + 1, host_memory), Err(ArgError::InvalidAddress));
        assert_eq!(check_start(true, DRAM.end() - 2, host_memory), Err(ArgError::InvalidAddress));
        assert_eq!(check_start(true, usize::MAX - 1, |_| true), Err(ArgError::InvalidAddress));
    }

    #[test]
    fn retentive_suspend_ignores_the_resume_address() {
        assert_eq!(check_suspend(SUSPEND_RETENTIVE, 0, |_| false), Ok(Suspend::Retentive));
    }

    #[test]
    fn non_retentive_suspend_needs_a_host_address() {
        assert_eq!(
            check_suspend(SUSPEND_NON_RETENTIVE, DRAM.base, host_memory),
            Ok(Suspend::NonRetentive(DRAM.base))
        );
        assert_eq!(
            check_suspend(SUSPEND_NON_RETENTIVE, 0x8000_0000, host_memory),
            Err(ArgError::InvalidAddress)
        );
    }

    #[test]
    fn unknown_suspend_types_are_invalid_param() {
        for kind in [1, 0x7fff_ffff, 0x8000_0001, 0x1_0000_0000, 0x1_8000_0000, usize::MAX] {
            assert_eq!(check_suspend(kind, DRAM.base, host_memory), Err(ArgError::InvalidParam));
        }
    }
}

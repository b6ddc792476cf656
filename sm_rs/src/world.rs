//! Which world each hart runs: the host OS, or an enclave. A leaf that the
//! trap handler, the timer and the IPI code read, and only the enclave
//! world switch writes.

use crate::arch::entry::{self, FrameCell, TrapFrame};
use core::sync::atomic::{AtomicUsize, Ordering};
use keystone_abi::layout::MAX_HARTS;

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY_FRAME: FrameCell = FrameCell::new();
/// The host OS's GPRs on each hart, while it runs and while an enclave runs
/// in its place.
static HOST_FRAMES: [FrameCell; MAX_HARTS] = [EMPTY_FRAME; MAX_HARTS];

/// The frame the host's GPRs live in on `hartid`.
pub fn host_frame(hartid: usize) -> *mut TrapFrame {
    HOST_FRAMES[hartid].get()
}

/// Starts (or restarts) the host OS on this hart at `entry`, a0 = hartid, a1 = arg.
// Trap/entry glue: the first `mret` into a world, with the frame its traps
// save into.
#[allow(unsafe_code)]
pub fn enter_host(hartid: usize, arg: usize, entry_pc: usize) -> ! {
    set_host(hartid);
    // SAFETY: the hart's host frame is this hart's alone; nothing of the
    // host's earlier life on this hart is resumed (HSM start/resume).
    unsafe { entry::enter_supervisor(hartid, arg, entry_pc, host_frame(hartid)) }
}

#[allow(clippy::declare_interior_mutable_const)]
const HOST: AtomicUsize = AtomicUsize::new(0);
/// eid + 1 of the enclave each hart runs, 0 when it runs the host.
static CURRENT: [AtomicUsize; MAX_HARTS] = [HOST; MAX_HARTS];

/// The enclave hart `hartid` is running, if any. Only a hart itself reads
/// and writes its own entry, so program order is all the ordering needed.
#[inline(always)]
pub fn current(hartid: usize) -> Option<usize> {
    CURRENT[hartid].load(Ordering::Relaxed).checked_sub(1)
}

/// The world switch put enclave `eid` on this hart.
pub fn set_enclave(hartid: usize, eid: usize) {
    CURRENT[hartid].store(eid + 1, Ordering::Relaxed);
}

/// The world switch gave this hart back to the host.
pub fn set_host(hartid: usize) {
    CURRENT[hartid].store(0, Ordering::Relaxed);
}

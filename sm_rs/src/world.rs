//! Which world each hart runs: the host OS, or an enclave. A leaf that the
//! trap handler, the timer and the IPI code read, and only the enclave
//! world switch writes.

use core::sync::atomic::{AtomicUsize, Ordering};
use keystone_abi::layout::MAX_HARTS;

#[allow(clippy::declare_interior_mutable_const)]
const HOST: AtomicUsize = AtomicUsize::new(0);
/// eid + 1 of the enclave each hart runs, 0 when it runs the host.
static CURRENT: [AtomicUsize; MAX_HARTS] = [HOST; MAX_HARTS];

/// The enclave hart `hartid` is running, if any.
pub fn current(hartid: usize) -> Option<usize> {
    CURRENT[hartid].load(Ordering::Acquire).checked_sub(1)
}

/// The world switch put enclave `eid` on this hart.
pub fn set_enclave(hartid: usize, eid: usize) {
    CURRENT[hartid].store(eid + 1, Ordering::Release);
}

/// The world switch gave this hart back to the host.
pub fn set_host(hartid: usize) {
    CURRENT[hartid].store(0, Ordering::Release);
}

//! Eyrie's own time slice, when the host asks for it (`keystone_abi::eyrie::slice`):
//! Eyrie arms `set_timer(time + 10000)` (1 ms at 10 MHz) through the legacy
//! SBI and re-arms it as it returns to the eapp. Our runtime does the same,
//! on every return to the eapp, only when the host wrote the request into
//! the UTM before the first RUN; otherwise it never touches the timer. The
//! mode exists to test that an unmodified Eyrie's timer use runs to
//! completion on our SM (the SM stops the enclave at its request, consumes
//! the request, and the host resumes it).

use crate::mem::Utm;
use core::sync::atomic::{AtomicU64, Ordering};
use keystone_abi::eyrie::slice;
use runtime::arch;

/// The slice in timer ticks; 0: off.
static SLICE: AtomicU64 = AtomicU64::new(0);

/// Reads (and clears) the host's request at boot, before any edge call.
pub fn configure(utm: &mut Utm) {
    let bytes = utm.bytes();
    if bytes.len() < slice::SIZE || bytes[..8] != slice::MAGIC {
        return;
    }
    let mut value = [0u8; 8];
    value.copy_from_slice(&bytes[slice::VALUE_OFFSET..slice::VALUE_OFFSET + 8]);
    bytes[..slice::SIZE].fill(0);
    let ticks = u64::from_le_bytes(value);
    if (1..=slice::MAX).contains(&ticks) {
        SLICE.store(ticks, Ordering::Relaxed);
    }
}

/// Eyrie's re-arm: stop me no later than one slice from now.
pub fn rearm() {
    let ticks = SLICE.load(Ordering::Relaxed);
    if ticks != 0 {
        arch::legacy_set_timer(arch::time().wrapping_add(ticks));
    }
}

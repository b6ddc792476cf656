//! SM_RANDOM: 64-bit values for enclaves.
//!
//! QEMU virt has no entropy source the SM can trust, so this is splitmix64
//! over a counter mixed with the cycle counter: unpredictable enough for
//! tests and ASLR-style uses, NOT a cryptographic generator. A real board
//! plugs its TRNG in here.

use crate::arch::csr;
use core::sync::atomic::{AtomicU64, Ordering};

static STATE: AtomicU64 = AtomicU64::new(0x853c_49e6_748f_ea9b);

/// The next value of the generator.
pub fn next() -> usize {
    let step = 0x9e37_79b9_7f4a_7c15u64 ^ (csr::mcycle::read() as u64).rotate_left(17);
    let mut z = STATE.fetch_add(step | 1, Ordering::Relaxed).wrapping_add(step | 1);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) as usize
}

//! Code run by harts the payload starts through HSM.

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use keystone_abi::layout::MAX_HARTS;
use sbi_spec::hsm::{EID_HSM, HART_STOP};

#[allow(clippy::declare_interior_mutable_const)]
const NONE: AtomicUsize = AtomicUsize::new(0);
/// The opaque value each started hart received in a1, stored under its a0.
pub static SEEN: [AtomicUsize; MAX_HARTS] = [NONE; MAX_HARTS];
/// While set, started harts wait before stopping (to test "already started").
pub static HOLD: AtomicBool = AtomicBool::new(false);

#[unsafe(no_mangle)]
extern "C" fn payload_secondary_main(hartid: usize, opaque: usize) -> ! {
    if hartid < MAX_HARTS {
        SEEN[hartid].store(opaque, Ordering::SeqCst);
    }
    while HOLD.load(Ordering::SeqCst) {
        core::hint::spin_loop();
    }
    let ret = crate::sbi::call(EID_HSM, HART_STOP, [0; 3]);
    panic!("hart {hartid}: hart_stop returned error {}", ret.error as isize);
}

/// Waits up to `ticks` of the time CSR for `done`; true if it happened.
pub fn wait_for(ticks: u64, mut done: impl FnMut() -> bool) -> bool {
    let start = crate::sbi::time();
    while crate::sbi::time() - start < ticks {
        if done() {
            return true;
        }
        core::hint::spin_loop();
    }
    done()
}

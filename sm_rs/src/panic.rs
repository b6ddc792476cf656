//! An M-mode panic says what and where, then stops QEMU with a failure status.

use crate::arch::csr;
use core::panic::PanicInfo;

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    let hart = csr::mhartid::read();
    match info.location() {
        Some(loc) => crate::console::print_emergency(format_args!(
            "SM PANIC on hart {hart}: {} at {}:{}\n",
            info.message(),
            loc.file(),
            loc.line()
        )),
        None => crate::console::print_emergency(format_args!(
            "SM PANIC on hart {hart}: {}\n",
            info.message()
        )),
    }
    // Nothing of an enclave outlives the SM: hold the other harts first (a
    // hart still in an enclave could write after the scrub); the registry
    // stays valid when that fails, and the next boot scrubs.
    if crate::platform::try_get().is_some() && crate::quiesce::hold_others_on_panic(hart) {
        if let Some(bytes) = crate::scrub::scrub_live_on_panic() {
            crate::console::print_emergency(format_args!(
                "SM: scrubbed {bytes} bytes of live enclave memory\n"
            ));
        }
    }
    crate::reset::shutdown(false, 1)
}

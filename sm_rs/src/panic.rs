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
    crate::reset::shutdown(false, 1)
}

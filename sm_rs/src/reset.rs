//! Power-off and reboot through QEMU's SiFive test device.

use crate::platform;
use sm_hal::phys::{self, PhysRange};

const FINISHER_PASS: u32 = 0x5555;
const FINISHER_FAIL: u32 = 0x3333;
const FINISHER_RESET: u32 = 0x7777;

fn finisher(value: u32) {
    if let Some(base) = platform::try_get().and_then(|p| p.test_device) {
        // The device tree names this MMIO register as the test finisher.
        match PhysRange::new(base, 4) {
            Some(reg) => phys::write_u32(reg, value),
            None => panic!("test finisher at {base:#x} overlaps the SM"),
        }
    }
}

fn halt() -> ! {
    crate::console::print_emergency(format_args!(
        "SM: no reset device in the device tree; halting this hart\n"
    ));
    loop {
        crate::arch::fence::wfi();
    }
}

/// Powers the machine off; QEMU exits 0 when `success`, with status `code` otherwise.
pub fn shutdown(success: bool, code: u16) -> ! {
    if success {
        finisher(FINISHER_PASS);
    } else {
        finisher(((code.max(1) as u32) << 16) | FINISHER_FAIL);
    }
    halt()
}

/// Resets the machine (cold and warm reboot are the same on QEMU).
pub fn reboot() -> ! {
    finisher(FINISHER_RESET);
    halt()
}

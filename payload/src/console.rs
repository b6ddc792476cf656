//! Payload output through legacy console_putchar (DBCN is under test, not relied on).

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, Ordering};

static LOCK: AtomicBool = AtomicBool::new(false);

struct Legacy;

impl Write for Legacy {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            crate::sbi::legacy(sbi_spec::legacy::LEGACY_CONSOLE_PUTCHAR, b as usize);
        }
        Ok(())
    }
}

/// Prints one formatted chunk without interleaving with other harts.
pub fn print(args: fmt::Arguments) {
    while LOCK.swap(true, Ordering::Acquire) {
        core::hint::spin_loop();
    }
    let _ = Legacy.write_fmt(args);
    LOCK.store(false, Ordering::Release);
}

#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => { $crate::console::print(format_args!("{}\n", format_args!($($arg)*))) };
}

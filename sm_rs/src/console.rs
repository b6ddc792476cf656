//! The SM's console: `println!` over the device tree's UART, one lock for all harts.

use crate::uart::Uart;
use core::fmt::{self, Write};
use spin::{Mutex, Once};

static UART: Once<Uart> = Once::new();
static LOCK: Mutex<()> = Mutex::new(());

/// Installs the UART found in the device tree; output before this is dropped.
pub fn init(uart: Uart) {
    uart.init();
    UART.call_once(|| uart);
}

/// The console UART, for the SBI console extensions.
pub fn uart() -> Option<&'static Uart> {
    UART.get()
}

struct Writer<'a>(&'a Uart);

impl Write for Writer<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for byte in s.bytes() {
            if byte == b'\n' {
                self.0.putc(b'\r');
            }
            self.0.putc(byte);
        }
        Ok(())
    }
}

/// Prints formatted text atomically with respect to other harts.
pub fn print(args: fmt::Arguments) {
    if let Some(uart) = UART.get() {
        let _guard = LOCK.lock();
        let _ = Writer(uart).write_fmt(args);
    }
}

/// Prints even if another hart died holding the lock: the panic path.
pub fn print_emergency(args: fmt::Arguments) {
    if let Some(uart) = UART.get() {
        let _ = Writer(uart).write_fmt(args);
    }
}

/// Writes raw bytes for SBI console calls, under the console lock.
pub fn write_bytes(bytes: impl Iterator<Item = u8>) {
    if let Some(uart) = UART.get() {
        let _guard = LOCK.lock();
        for byte in bytes {
            uart.putc(byte);
        }
    }
}

macro_rules! println {
    () => { $crate::console::print(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::console::print(format_args!("{}\n", format_args!($($arg)*))) };
}

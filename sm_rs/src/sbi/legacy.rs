//! Legacy SBI v0.1 calls (extension ids 0x00..0x0f): a0 in, a0 out.

use super::Call;
use crate::{console, reset, timer};
use sbi_spec::legacy::*;

const NOT_SUPPORTED: usize = (-2isize) as usize;

/// True for the legacy extension-id range.
pub fn owns(eid: usize) -> bool {
    eid <= 0x0f
}

/// Legacy calls this SM answers (the IPI and fence ones arrive with SMP support).
pub fn implemented(eid: usize) -> bool {
    matches!(
        eid,
        LEGACY_SET_TIMER | LEGACY_CONSOLE_PUTCHAR | LEGACY_CONSOLE_GETCHAR | LEGACY_SHUTDOWN
    )
}

pub fn handle(hartid: usize, call: &Call) -> usize {
    match call.eid {
        LEGACY_SET_TIMER => {
            timer::set_timer(hartid, call.args[0] as u64);
            0
        }
        LEGACY_CONSOLE_PUTCHAR => {
            console::write_bytes(core::iter::once(call.args[0] as u8));
            0
        }
        LEGACY_CONSOLE_GETCHAR => match console::uart().and_then(|u| u.getc()) {
            Some(byte) => byte as usize,
            None => usize::MAX,
        },
        LEGACY_SHUTDOWN => {
            println!("SM: legacy shutdown requested");
            reset::shutdown(true, 0)
        }
        _ => NOT_SUPPORTED,
    }
}

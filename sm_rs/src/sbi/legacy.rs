//! Legacy SBI v0.1 calls (extension ids 0x00..0x0f): a0 in, a0 out.
//!
//! The IPI and fence calls take a *pointer* to a hart mask in S-mode memory;
//! it is read through MPRV, so a bad pointer is an error, never a crash.

use super::Call;
use crate::cpu;
use crate::{console, ipi, timer};
use sbi_spec::legacy::*;

/// Legacy calls answer in a0 with the same error numbers as SBI v0.2+.
pub const NOT_SUPPORTED: usize = sbi_spec::binary::RET_ERR_NOT_SUPPORTED;
const INVALID_ADDRESS: usize = sbi_spec::binary::RET_ERR_INVALID_ADDRESS;

/// The harts a legacy hart-mask pointer names; null means every hart.
fn targets(mask_ptr: usize) -> Result<usize, usize> {
    if mask_ptr == 0 {
        return ipi::decode_mask(0, usize::MAX).map_err(|e| e.error);
    }
    let mut mask = [0u64];
    crate::umem::USlice::<u64>::new(mask_ptr, 1, 1)
        .map_err(|_| INVALID_ADDRESS)?
        .read_into(&mut mask)
        .map_err(|_| INVALID_ADDRESS)?;
    let [mask] = mask;
    ipi::decode_mask(mask as usize, 0).map_err(|e| e.error)
}

fn send(hartid: usize, mask_ptr: usize, event: usize) -> usize {
    match targets(mask_ptr) {
        Ok(harts) => {
            ipi::send(hartid, harts, event);
            0
        }
        Err(code) => code,
    }
}

// Off the world-switch path: kept out of line so the trap handler stays lean.
#[inline(never)]
pub fn handle(hartid: usize, call: &Call<'_>) -> usize {
    let a0 = call.arg(0);
    match call.eid() {
        LEGACY_SET_TIMER => {
            timer::set_timer(hartid, a0 as u64);
            0
        }
        LEGACY_CONSOLE_PUTCHAR => {
            console::write_bytes(core::iter::once(a0 as u8));
            0
        }
        LEGACY_CONSOLE_GETCHAR => match console::uart().and_then(|u| u.getc()) {
            Some(byte) => byte as usize,
            None => usize::MAX,
        },
        LEGACY_CLEAR_IPI => {
            // SAFETY: clearing SSIP only withdraws this hart's S-mode IPI.
            cpu::clear_supervisor_soft_irq();
            0
        }
        LEGACY_SEND_IPI => send(hartid, a0, ipi::EV_SSIP),
        LEGACY_REMOTE_FENCE_I => send(hartid, a0, ipi::EV_FENCE_I),
        LEGACY_REMOTE_SFENCE_VMA | LEGACY_REMOTE_SFENCE_VMA_ASID => {
            send(hartid, a0, ipi::EV_SFENCE_VMA)
        }
        LEGACY_SHUTDOWN => {
            println!("SM: legacy shutdown requested");
            // Returns only when refused (a hart did not stop in time).
            super::srst::take_down(hartid, false, true).error
        }
        _ => NOT_SUPPORTED,
    }
}

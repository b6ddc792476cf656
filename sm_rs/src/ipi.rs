//! Work one hart asks of others through the machine software interrupt:
//! raise a supervisor software interrupt, or fence the instruction stream or
//! the TLB. Fences are synchronous: the caller returns once every target has
//! executed them.

use crate::arch::{bits, csr};
use crate::{clint, platform};
use core::sync::atomic::{AtomicUsize, Ordering};
use keystone_abi::layout::MAX_HARTS;
use sbi_spec::binary::SbiRet;

/// Raise SSIP on the target.
pub const EV_SSIP: usize = 1 << 0;
/// Execute fence.i on the target.
pub const EV_FENCE_I: usize = 1 << 1;
/// Execute sfence.vma (all addresses, all ASIDs: a superset of any request).
pub const EV_SFENCE_VMA: usize = 1 << 2;
/// Re-apply the machine-wide PMP policy (an enclave was created or destroyed).
pub const EV_PMP_SYNC: usize = 1 << 3;
/// Events the sender waits for.
const SYNCHRONOUS: usize = EV_FENCE_I | EV_SFENCE_VMA | EV_PMP_SYNC;

/// Handlers other modules register for an event, as OpenSBI's
/// `sbi_ipi_event_create` does: the IPI code knows no policy itself.
static PMP_SYNC_HANDLER: spin::Once<fn()> = spin::Once::new();

/// Registers what EV_PMP_SYNC does on a hart (boot hart, before others start).
pub fn on_pmp_sync(handler: fn()) {
    PMP_SYNC_HANDLER.call_once(|| handler);
}

#[allow(clippy::declare_interior_mutable_const)]
const NONE: AtomicUsize = AtomicUsize::new(0);
static PENDING: [AtomicUsize; MAX_HARTS] = [NONE; MAX_HARTS];

/// Runs the work queued for `hart`; called from its software interrupt.
///
/// A PMP re-sync cannot be applied while the hart is inside an enclave (it
/// would reopen host memory to it): it stays pending, and the software
/// interrupt is raised again so that it stops the enclave first.
// Off the world-switch path: kept out of line so the trap handler stays lean.
#[inline(never)]
pub fn process(hart: usize) {
    clint::clear_ipi(hart);
    let keep = if crate::world::current(hart).is_some() { EV_PMP_SYNC } else { 0 };
    let events = PENDING[hart].fetch_and(keep, Ordering::AcqRel) & !keep;
    if PENDING[hart].load(Ordering::Acquire) & keep != 0 {
        clint::send_ipi(hart);
    }
    if events & EV_PMP_SYNC != 0 {
        let handler = PMP_SYNC_HANDLER.get().expect("PMP sync handler registered at boot");
        handler();
    }
    if events & EV_SSIP != 0 {
        // SAFETY: SSIP is writable from M-mode and only signals S-mode.
        unsafe { csr::mip::set(1 << bits::IRQ_S_SOFT) };
    }
    if events & EV_FENCE_I != 0 {
        // SAFETY: fence.i only orders this hart's instruction fetches.
        unsafe { core::arch::asm!("fence.i") };
    }
    if events & EV_SFENCE_VMA != 0 {
        // SAFETY: flushing this hart's TLB is always safe.
        unsafe { core::arch::asm!("sfence.vma") };
    }
}

/// Serves queued work while this hart spins on a lock or waits for others.
pub fn poll(hart: usize) {
    let keep = if crate::world::current(hart).is_some() { EV_PMP_SYNC } else { 0 };
    if PENDING[hart].load(Ordering::Acquire) & !keep != 0 {
        process(hart);
    }
}

/// `poll` for a hart known to run the host (nothing is kept for later).
#[inline(always)]
pub fn poll_host(hart: usize) {
    if PENDING[hart].load(Ordering::Acquire) != 0 {
        process(hart);
    }
}

/// The harts an SBI hart mask names, or INVALID_PARAM if one does not exist.
pub fn decode_mask(mask: usize, base: usize) -> Result<usize, SbiRet> {
    let p = platform::get();
    let mut targets = 0usize;
    if base == usize::MAX {
        for hart in (0..MAX_HARTS).filter(|&h| p.hart_exists(h)) {
            targets |= 1 << hart;
        }
        return Ok(targets);
    }
    for bit in 0..usize::BITS as usize {
        if mask & (1 << bit) == 0 {
            continue;
        }
        let hart = base.checked_add(bit).ok_or_else(SbiRet::invalid_param)?;
        if !p.hart_exists(hart) {
            return Err(SbiRet::invalid_param());
        }
        targets |= 1 << hart;
    }
    Ok(targets)
}

/// Queues `events` on every started hart in `targets` and interrupts them;
/// for fences, waits until each has run them (doing our own work meanwhile,
/// so two harts fencing each other cannot deadlock).
pub fn send(me: usize, targets: usize, events: usize) {
    // A PMP sync waits for every hart on its way into or out of S-mode too
    // (harts::sync_mask); other work only concerns harts running S-mode code.
    let live = if events == EV_PMP_SYNC {
        crate::harts::sync_mask()
    } else {
        crate::harts::started_mask()
    };
    let targets = targets & live;
    for hart in (0..MAX_HARTS).filter(|h| targets & (1 << h) != 0) {
        if hart == me {
            continue;
        }
        PENDING[hart].fetch_or(events, Ordering::AcqRel);
        clint::send_ipi(hart);
    }
    if targets & (1 << me) != 0 {
        PENDING[me].fetch_or(events, Ordering::AcqRel);
        process(me);
    }
    if events & SYNCHRONOUS == 0 {
        return;
    }
    for hart in (0..MAX_HARTS).filter(|h| targets & (1 << h) != 0 && *h != me) {
        while PENDING[hart].load(Ordering::Acquire) & events != 0 {
            poll(me);
            core::hint::spin_loop();
        }
    }
}

//! Work one hart asks of others through the machine software interrupt:
//! raise a supervisor software interrupt, or fence the instruction stream or
//! the TLB. Fences are synchronous: the caller returns once every target has
//! executed them.

use crate::cpu;
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
/// Hold in M-mode for a system-wide action (`quiesce`); taken only at a
/// safe point, kept pending elsewhere.
pub const EV_HALT: usize = 1 << 4;
/// Events the sender waits for.
const SYNCHRONOUS: usize = EV_FENCE_I | EV_SFENCE_VMA | EV_PMP_SYNC;

/// Handlers other modules register for an event, as OpenSBI's
/// `sbi_ipi_event_create` does: the IPI code knows no policy itself.
static PMP_SYNC_HANDLER: spin::Once<fn()> = spin::Once::new();
static HALT_HANDLER: spin::Once<fn(usize)> = spin::Once::new();

/// Registers what EV_PMP_SYNC does on a hart (boot hart, before others start).
pub fn on_pmp_sync(handler: fn()) {
    PMP_SYNC_HANDLER.call_once(|| handler);
}

/// Registers what EV_HALT does on a hart (boot hart, before others start).
pub fn on_halt(handler: fn(usize)) {
    HALT_HANDLER.call_once(|| handler);
}

#[allow(clippy::declare_interior_mutable_const)]
const NONE: AtomicUsize = AtomicUsize::new(0);
static PENDING: [AtomicUsize; MAX_HARTS] = [NONE; MAX_HARTS];

/// Runs the work queued for `hart` at a safe point: M-mode entered from a
/// trap (an interrupted enclave already switched out) or the parked loop.
///
/// A PMP re-sync cannot be applied while the hart is inside an enclave (it
/// would reopen host memory to it): it stays pending, and the software
/// interrupt is raised again so that it stops the enclave first.
#[inline(always)]
pub fn process(hart: usize) {
    run(hart, true);
}

/// The events a hart must leave pending where it is now.
#[inline(always)]
fn kept(hart: usize, at_safe_point: bool) -> usize {
    let mut keep = if crate::world::current(hart).is_some() { EV_PMP_SYNC } else { 0 };
    if !sm_core::quiesce::halt_allowed(at_safe_point) {
        keep |= EV_HALT;
    }
    keep
}

// Off the world-switch path: kept out of line so the trap handler and the
// gate stay lean.
#[inline(never)]
fn run(hart: usize, at_safe_point: bool) {
    clint::clear_ipi(hart);
    let keep = kept(hart, at_safe_point);
    let events = PENDING[hart].fetch_and(keep, Ordering::AcqRel) & !keep;
    if PENDING[hart].load(Ordering::Acquire) & keep != 0 {
        clint::send_ipi(hart);
    }
    if events & EV_PMP_SYNC != 0 {
        let handler = PMP_SYNC_HANDLER.get().expect("PMP sync handler registered at boot");
        handler();
    }
    if events & EV_SSIP != 0 {
        cpu::raise_supervisor_soft_irq();
    }
    if events & EV_FENCE_I != 0 {
        crate::arch::fence::fence_i();
    }
    if events & EV_SFENCE_VMA != 0 {
        crate::arch::fence::sfence_vma();
    }
    if events & EV_HALT != 0 {
        // Last: the other work is done before the hart waits.
        if let Some(handler) = HALT_HANDLER.get() {
            handler(hart);
        }
    }
}

/// Serves queued work while this hart spins on a lock or waits for others
/// (not a safe point: a HALT stays pending until the hart leaves the SM).
pub fn poll(hart: usize) {
    if PENDING[hart].load(Ordering::Acquire) & !kept(hart, false) != 0 {
        run(hart, false);
    }
}

/// `poll` for a hart known to run the host on its way to S-mode (a HALT is
/// kept pending with the software interrupt raised again, so the hart takes
/// it as soon as it reaches S-mode).
#[inline(always)]
pub fn poll_host(hart: usize) {
    if PENDING[hart].load(Ordering::Acquire) != 0 {
        run(hart, false);
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
    // A HALT goes to every hart, whatever its HSM state (a stopped hart
    // serves it in the parked loop).
    let live = if events == EV_HALT {
        targets
    } else if events == EV_PMP_SYNC {
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
        run(me, false);
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

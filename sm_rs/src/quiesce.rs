//! System-wide actions with every hart accounted for: before SRST (reboot,
//! shutdown) or a panic scrubs enclave memory and resets, every other hart
//! is held in M-mode, out of every enclave, and stays there. The protocol and
//! its decisions are `sm_core::quiesce` (model-checked in
//! `sm_rs/core/tests/quiesce_model.rs`); this is its firmware side.
//!
//! The SM paths that assume the other harts are quiet, and how each gets
//! that guarantee:
//! * SRST reboot and shutdown: [`hold_others`] before the scrub, the reset
//!   refused when a hart does not answer in time;
//! * a panic: [`hold_others`] too (bounded), then the scrub only if every
//!   hart is held and the registry's lock is free; the registry stays valid,
//!   so the next boot scrubs in any case;
//! * the boot stage: the other harts wait in M-mode for the boot hart
//!   (`boot::sm_main`) until its scrub is done, and reach S-mode only
//!   through hart_start;
//! * the SM has no SUSP (system suspend) extension.

use crate::{clint, ipi, platform};
use core::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use sm_core::quiesce::{self, Wait, FREE, RELEASING};

/// Which hart owns the machine for a system-wide action (`quiesce` words).
static OWNER: AtomicUsize = AtomicUsize::new(FREE);
/// The harts held in M-mode for the owner, one bit each.
static HELD: AtomicUsize = AtomicUsize::new(0);

/// How long a requester waits for the other harts: a hart that runs S- or
/// U-mode code answers the machine software interrupt at once, one in an SM
/// call as soon as the call ends.
const WAIT_SECONDS: u64 = 2;

/// Registers the HALT handler with the IPI code (boot hart, before others start).
pub fn init() {
    ipi::on_halt(hold_here);
}

/// The HALT event on a hart at a safe point: wait in M-mode until the owner
/// resets the machine, or gives up and lets this hart go back to its world.
fn hold_here(hart: usize) {
    if !quiesce::must_hold(OWNER.load(SeqCst)) {
        return;
    }
    hold(hart);
}

fn hold(hart: usize) {
    HELD.fetch_or(1 << hart, SeqCst);
    while !quiesce::may_leave(OWNER.load(SeqCst)) {
        // Other harts may wait for this one (a PMP sync); HALT stays pending.
        ipi::poll(hart);
        core::hint::spin_loop();
    }
    HELD.fetch_and(!(1 << hart), SeqCst);
}

/// Why a system-wide action may not go ahead.
#[derive(Clone, Copy, Debug)]
pub enum Refused {
    /// Another hart owns the machine (it was released without resetting).
    Busy,
    /// These harts did not reach a safe point in time.
    NoAnswer(usize),
}

/// Holds every other hart in M-mode; `Ok(n)` with the number held, after
/// which this hart alone runs until the reset. On `Err` every hart has been
/// let go again and the caller must not reset.
pub fn hold_others(me: usize) -> Result<usize, Refused> {
    if OWNER.compare_exchange(FREE, quiesce::owner_word(me), SeqCst, SeqCst).is_err() {
        // Another hart is taking the machine down: be held like the rest.
        hold(me);
        return Err(Refused::Busy);
    }
    let (required, deadline) = halt_others(me);
    loop {
        match quiesce::decide(HELD.load(SeqCst), required, clint::mtime(), deadline) {
            Wait::Proceed => return Ok(required.count_ones() as usize),
            Wait::KeepWaiting => {
                ipi::poll(me);
                core::hint::spin_loop();
            }
            Wait::GiveUp => {
                let missing = required & !HELD.load(SeqCst);
                release();
                return Err(Refused::NoAnswer(missing));
            }
        }
    }
}

/// A panicking hart: hold the others (bounded) before the machine goes
/// down; true when every other hart is held. Never waits for an owner (the
/// panic may come from inside one) and never lets the others go.
pub fn hold_others_on_panic(me: usize) -> bool {
    if OWNER.compare_exchange(FREE, quiesce::owner_word(me), SeqCst, SeqCst).is_err() {
        return false;
    }
    let (required, deadline) = halt_others(me);
    loop {
        match quiesce::decide(HELD.load(SeqCst), required, clint::mtime(), deadline) {
            Wait::Proceed => return true,
            Wait::KeepWaiting => core::hint::spin_loop(),
            Wait::GiveUp => return false,
        }
    }
}

/// Posts HALT to every other hart the device tree lists; (the harts that
/// must answer, the time by which they must).
fn halt_others(me: usize) -> (usize, u64) {
    let p = platform::get();
    // Base usize::MAX names every hart the device tree lists (SBI's own rule).
    let present = ipi::decode_mask(0, usize::MAX).unwrap_or(0);
    let required = quiesce::required(present, me);
    ipi::send(me, required, ipi::EV_HALT);
    (required, clint::mtime().saturating_add(WAIT_SECONDS * p.timebase as u64))
}

/// The requester gives up: every held hart leaves, then the machine is free.
fn release() {
    OWNER.store(RELEASING, SeqCst);
    while HELD.load(SeqCst) != 0 {
        core::hint::spin_loop();
    }
    OWNER.store(FREE, SeqCst);
}

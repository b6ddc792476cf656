//! Time belongs to the host. The S-mode timer service (Sstc's stimecmp when
//! present, else the CLINT + STIP), and the M-timer guard that bounds every
//! enclave run.
//!
//! Per hart, the SM keeps the host's deadline and, while an enclave runs,
//! that enclave's own request. The M-timer is armed at the earlier of the
//! two while an enclave runs, so the enclave can neither hold the hart past
//! the host's deadline nor move it; its own `set_timer` only means "stop me
//! no later than then", and is consumed when it ends a run. Without Sstc the
//! host's deadline lives on the same M-timer: it is put back, armed, when the
//! enclave leaves, so no host tick is ever lost.

use crate::cpu;
use crate::{clint, platform};
use core::sync::atomic::{AtomicU64, Ordering};
use keystone_abi::layout::MAX_HARTS;

pub use sm_core::timer_policy::NEVER;
use sm_core::timer_policy::{self as policy, HostTimer, MachineTimer};

#[allow(clippy::declare_interior_mutable_const)]
const UNARMED: AtomicU64 = AtomicU64::new(NEVER);
/// The host's deadline on each hart (without Sstc; with Sstc copied from
/// its stimecmp while an enclave runs). Only the hart itself touches its own.
static HOST: [AtomicU64; MAX_HARTS] = [UNARMED; MAX_HARTS];
/// The running enclave's request on each hart.
static ENCLAVE: [AtomicU64; MAX_HARTS] = [UNARMED; MAX_HARTS];

fn sstc() -> bool {
    platform::sstc()
}

/// The current time (CLINT mtime).
pub fn now() -> u64 {
    clint::mtime()
}

/// A hart about to (re)enter S-mode starts with no deadline at all: the
/// M-timer at the far future and no S-timer pending.
pub fn reset_hart(hartid: usize) {
    HOST[hartid].store(NEVER, Ordering::Relaxed);
    ENCLAVE[hartid].store(NEVER, Ordering::Relaxed);
    clint::set_timecmp(hartid, NEVER);
    // This hart's own timer state, cleared before S-mode runs on it.
    cpu::disable_machine_timer_irq();
    if sstc() {
        cpu::set_supervisor_timer(usize::MAX);
        if platform::h() {
            // The host's VS timer starts quiet too (QEMU resets vstimecmp
            // to 0: due at once when the switch writes it).
            cpu::set_virtual_supervisor_timer(usize::MAX);
        }
    } else {
        cpu::clear_supervisor_timer_irq();
    }
}

/// SBI set_timer: the host arms its timer; an enclave asks to be stopped
/// no later than `when`.
pub fn set_timer(hartid: usize, when: u64) {
    if crate::world::current(hartid).is_some() {
        ENCLAVE[hartid].store(when, Ordering::Relaxed);
        arm_guard(hartid);
        return;
    }
    if sstc() {
        // The hart implements Sstc (checked in the device tree) and
        // menvcfg.STCE is set; stimecmp only drives STIP.
        cpu::set_supervisor_timer(when as usize);
    } else {
        HOST[hartid].store(when, Ordering::Relaxed);
        clint::set_timecmp(hartid, when);
        // STIP is the SM's to drive without Sstc; MTIE routes the machine
        // timer to `on_machine_timer`.
        cpu::clear_supervisor_timer_irq();
        cpu::enable_machine_timer_irq();
    }
}

#[inline(always)]
fn arm_guard(hartid: usize) {
    let guard = policy::guard(
        HOST[hartid].load(Ordering::Relaxed),
        ENCLAVE[hartid].load(Ordering::Relaxed),
    );
    clint::set_timecmp(hartid, guard);
    // The M-timer is the SM's; it stops the enclave at the guard.
    cpu::enable_machine_timer_irq();
}

/// An enclave goes onto this hart: arm the guard at the earlier of the host's
/// deadline (`host_stimecmp` with Sstc) and the enclave's pending request.
#[inline(always)]
pub fn enter_enclave(hartid: usize, host_stimecmp: usize, request: u64) {
    if sstc() {
        HOST[hartid].store(host_stimecmp as u64, Ordering::Relaxed);
    }
    ENCLAVE[hartid].store(request, Ordering::Relaxed);
    arm_guard(hartid);
}

/// The enclave leaves this hart: give the host its own timer back and
/// return the enclave's request, consumed (NEVER) if it has come due.
#[inline(always)]
pub fn leave_enclave(hartid: usize) -> u64 {
    let request = policy::request_after_run(ENCLAVE[hartid].swap(NEVER, Ordering::Relaxed), now);
    let host = HOST[hartid].load(Ordering::Relaxed);
    match policy::host_timer_after_run(sstc(), host) {
        // With Sstc the host's timer is its stimecmp (restored with its
        // context); the M-timer goes quiet. Masking MTIE is enough: a guard
        // left in mtimecmp raises nothing until the next enclave entry
        // re-arms it (and no wfi waits on it: it is not enabled).
        HostTimer::Quiet => cpu::disable_machine_timer_irq(),
        HostTimer::Armed(host) => {
            clint::set_timecmp(hartid, host);
            // The host's armed deadline is back on the M-timer.
            cpu::enable_machine_timer_irq();
        }
    }
    request
}

/// The machine timer fired outside an enclave (or right after one left):
/// without Sstc, hand the host's due deadline to S-mode as STIP. A guard
/// that fired for the enclave's own request is not the host's tick.
pub fn on_machine_timer(hartid: usize) {
    match policy::on_machine_timer(sstc(), HOST[hartid].load(Ordering::Relaxed), now) {
        // Nothing of the host's is armed on the M-timer.
        MachineTimer::Mask => cpu::disable_machine_timer_irq(),
        // The guard fired for an enclave's own request, not the host's tick.
        MachineTimer::EnclaveGuard => {}
        MachineTimer::HostDue => {
            HOST[hartid].store(NEVER, Ordering::Relaxed);
            // See `set_timer`; masking MTIE stops the interrupt from
            // re-firing until S-mode arms the timer again.
            cpu::disable_machine_timer_irq();
            cpu::raise_supervisor_timer_irq();
        }
    }
}

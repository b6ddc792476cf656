//! Code run by harts the payload starts through HSM. What a started hart
//! does is chosen by the tag in the high bits of its opaque value.

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use keystone_abi::layout::MAX_HARTS;
use sbi_spec::hsm::{suspend_type::NON_RETENTIVE, EID_HSM, HART_STOP, HART_SUSPEND};

/// Record the opaque value, wait for HOLD to drop, stop.
pub const TAG_STOP: usize = 0x1 << 32;
/// As TAG_STOP, but with supervisor software interrupts enabled.
pub const TAG_IPI: usize = 0x2 << 32;
/// Record, then suspend non-retentively with a TAG_RESUME opaque.
pub const TAG_SUSPEND: usize = 0x3 << 32;
/// Where a non-retentive suspend resumes: record in RESUMED, stop.
pub const TAG_RESUME: usize = 0x4 << 32;
/// Run the enclave `enclaves::other_hart_job` names, then stop.
pub const TAG_ENCLAVE: usize = 0x5 << 32;
/// A job of the attack suite; the low bits name it (`attacks::secondary`).
pub const TAG_ATTACK: usize = 0x6 << 32;
pub const TAG_MASK: usize = 0xf << 32;

/// What a hart started with TAG_ENCLAVE / TAG_ATTACK runs: registered by
/// the enclave and attack suites before they start harts, so this module
/// (reached from every suite) depends on none of them.
static ENCLAVE_JOB: spin::Once<fn()> = spin::Once::new();
static ATTACK_JOB: spin::Once<fn(usize, usize)> = spin::Once::new();

/// Registers the TAG_ENCLAVE job.
pub fn on_enclave_job(job: fn()) {
    ENCLAVE_JOB.call_once(|| job);
}

/// Registers the TAG_ATTACK job (hart id, job number).
pub fn on_attack_job(job: fn(usize, usize)) {
    ATTACK_JOB.call_once(|| job);
}

#[allow(clippy::declare_interior_mutable_const)]
const NONE: AtomicUsize = AtomicUsize::new(0);
/// The opaque value each started hart received in a1, stored under its a0.
pub static SEEN: [AtomicUsize; MAX_HARTS] = [NONE; MAX_HARTS];
/// The opaque value each hart got when resuming from a non-retentive suspend.
pub static RESUMED: [AtomicUsize; MAX_HARTS] = [NONE; MAX_HARTS];
/// Supervisor software interrupts each hart took.
pub static IPIS: [AtomicUsize; MAX_HARTS] = [NONE; MAX_HARTS];
/// While set, started harts wait before stopping.
pub static HOLD: AtomicBool = AtomicBool::new(false);

pub fn stop(hartid: usize) -> ! {
    let ret = crate::sbi::call(EID_HSM, HART_STOP, [0; 3]);
    panic!("hart {hartid}: hart_stop returned error {}", ret.error as isize);
}

#[unsafe(no_mangle)]
extern "C" fn payload_secondary_main(hartid: usize, opaque: usize) -> ! {
    if hartid >= MAX_HARTS {
        panic!("started with a0 = {hartid}, not a hart id");
    }
    match opaque & TAG_MASK {
        TAG_RESUME => {
            RESUMED[hartid].store(opaque, Ordering::SeqCst);
            stop(hartid)
        }
        TAG_ENCLAVE => {
            SEEN[hartid].store(opaque, Ordering::SeqCst);
            (ENCLAVE_JOB.get().expect("enclave job registered"))();
            stop(hartid)
        }
        TAG_ATTACK => {
            (ATTACK_JOB.get().expect("attack job registered"))(hartid, opaque & !TAG_MASK);
            stop(hartid)
        }
        TAG_SUSPEND => {
            SEEN[hartid].store(opaque, Ordering::SeqCst);
            let resume = TAG_RESUME | (opaque & !TAG_MASK);
            let entry = crate::rt::secondary_entry();
            let ret =
                crate::sbi::call(EID_HSM, HART_SUSPEND, [NON_RETENTIVE as usize, entry, resume]);
            panic!("hart {hartid}: non-retentive suspend returned error {}", ret.error as isize);
        }
        tag => {
            if tag == TAG_IPI {
                // SAFETY: enables this hart's S-mode software interrupt, which
                // the trap handler counts in IPIS.
                unsafe {
                    core::arch::asm!("csrs sie, {0}", in(reg) 1usize << 1);
                    core::arch::asm!("csrs sstatus, {0}", in(reg) 1usize << 1);
                }
            }
            SEEN[hartid].store(opaque, Ordering::SeqCst);
            while HOLD.load(Ordering::SeqCst) {
                core::hint::spin_loop();
            }
            // SAFETY: back to polling before stopping.
            unsafe { core::arch::asm!("csrc sstatus, {0}", in(reg) 1usize << 1) };
            stop(hartid)
        }
    }
}

/// Waits up to `ticks` of the time CSR for `done`; true if it happened.
pub fn wait_for(ticks: u64, mut done: impl FnMut() -> bool) -> bool {
    let start = crate::sbi::time();
    while crate::sbi::time() - start < ticks {
        if done() {
            return true;
        }
        core::hint::spin_loop();
    }
    done()
}

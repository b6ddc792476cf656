//! The hypervisor extension's per-world state: every H and VS CSR that
//! `sm_core::world_csrs::TABLE` marks `Swap`, generated from `sm_core::h_world_csrs!`
//! so the switch and the table cannot disagree.

use core::sync::atomic::{AtomicUsize, Ordering};
use sm_core::world_csrs::first_run_value;

/// What hstatus and vsstatus read once their FIRST_RUN values are written:
/// their XLEN fields are WARL (QEMU's RV64 harts read VSXL, and in vsstatus
/// UXL and SXL, as 2 whatever is written). Measured at boot; until then
/// (and on a hart that reads otherwise) `hart_at_first_run` is just false.
static IDLE_READ: [AtomicUsize; 2] = [AtomicUsize::new(usize::MAX), AtomicUsize::new(usize::MAX)];

/// Records what this hart reads from hstatus and vsstatus at FIRST_RUN.
/// # Safety
/// The hart implements H, and nothing runs in its V-mode yet (boot).
pub unsafe fn record_first_run_readback() {
    let (hs, vs): (usize, usize);
    // SAFETY: forwarded to the caller; these are the values every world
    // starts with.
    unsafe {
        core::arch::asm!(
            "csrw hstatus, {h}",
            "csrr {hs}, hstatus",
            "csrw vsstatus, {v}",
            "csrr {vs}, vsstatus",
            h = in(reg) first_run_value(0x600) as usize,
            v = in(reg) first_run_value(0x200) as usize,
            hs = out(reg) hs,
            vs = out(reg) vs,
        )
    };
    IDLE_READ[0].store(hs, Ordering::Relaxed);
    IDLE_READ[1].store(vs, Ordering::Relaxed);
}

/// The value CSR `num` reads at FIRST_RUN (`first_run` for all but the two
/// with WARL XLEN fields).
#[inline(always)]
fn first_run_read(num: u16, first_run: usize) -> usize {
    match num {
        0x600 => IDLE_READ[0].load(Ordering::Relaxed),
        0x200 => IDLE_READ[1].load(Ordering::Relaxed),
        _ => first_run,
    }
}

macro_rules! define_h_state {
    ($($name:ident $num:literal),*) => {
        /// One world's H and VS CSRs while it is not on the hart.
        #[derive(Clone, Copy)]
        pub struct HState {
            $(pub $name: usize,)*
        }

        impl HState {
            /// What an enclave starts with: V=0, nothing delegated, no guest
            /// translation (the table's `run` values).
            pub const FIRST_RUN: Self = Self { $($name: first_run_value($num) as usize,)* };

            /// Puts `into`'s H/VS CSRs on the hart and keeps the leaving
            /// world's in `self`, one `csrrw` per CSR.
            /// # Safety
            /// The hart implements H and runs in M-mode with mstatus.MPV
            /// being set for the same world; `into`'s values are that
            /// world's own (or FIRST_RUN).
            #[inline(always)]
            pub unsafe fn swap(&mut self, into: &Self) {
                $(
                    // SAFETY: forwarded to the caller.
                    unsafe {
                        core::arch::asm!(concat!("csrrw {0}, ", stringify!($num), ", {1}"), out(reg) self.$name, in(reg) into.$name)
                    };
                )*
            }

            /// True when every one of these CSRs on the hart reads what it
            /// reads once its FIRST_RUN value is written: the world on the
            /// hart left H alone (or put it back), so there is nothing of
            /// its own to save. One `csrr` each, no store.
            /// # Safety
            /// The hart implements H.
            #[inline(always)]
            pub unsafe fn hart_at_first_run() -> bool {
                let mut differs = 0usize;
                $(
                    let v: usize;
                    // SAFETY: reading an H/VS CSR has no side effect (the
                    // caller checked H).
                    unsafe { core::arch::asm!(concat!("csrr {0}, ", stringify!($num)), out(reg) v, options(nomem, nostack)) };
                    differs |= v ^ first_run_read($num, Self::FIRST_RUN.$name);
                )*
                differs == 0
            }

            /// Puts `into`'s CSRs on the hart (the leaving world's need no
            /// saving: `hart_at_first_run`).
            /// # Safety
            /// As `swap`.
            #[inline(always)]
            pub unsafe fn load(into: &Self) {
                $(
                    // SAFETY: forwarded to the caller.
                    unsafe {
                        core::arch::asm!(concat!("csrw ", stringify!($num), ", {0}"), in(reg) into.$name)
                    };
                )*
            }
        }
    };
}

sm_core::h_world_csrs!(define_h_state);

/// vstimecmp (H with Sstc) is CSR 0x24d.
pub mod vstimecmp {
    /// Reads vstimecmp.
    #[inline(always)]
    pub fn read() -> usize {
        let value: usize;
        // SAFETY: reading vstimecmp has no side effect (the caller checked H and Sstc).
        unsafe { core::arch::asm!("csrr {0}, 0x24d", out(reg) value) };
        value
    }
    /// Writes vstimecmp and returns its old value.
    /// # Safety
    /// The hart implements H and Sstc.
    #[inline(always)]
    pub unsafe fn swap(value: usize) -> usize {
        let old: usize;
        // SAFETY: forwarded to the caller.
        unsafe { core::arch::asm!("csrrw {0}, 0x24d, {1}", out(reg) old, in(reg) value) };
        old
    }
    /// Writes vstimecmp.
    /// # Safety
    /// The hart implements H and Sstc.
    pub unsafe fn write(value: usize) {
        // SAFETY: forwarded to the caller.
        unsafe { core::arch::asm!("csrw 0x24d, {0}", in(reg) value) };
    }
}

/// hvip.VSTIP (also hip/mip bit 6).
const VSTIP: usize = 1 << 6;
/// henvcfg.STCE / menvcfg.STCE: vstimecmp (stimecmp) drives the timer bit.
const STCE: usize = 1 << 63;

/// With Sstc, right after the entering world's vstimecmp is written: makes
/// VSTIP that world's own, hvip.VSTIP as it left it, or'ed with its
/// vstimecmp's signal only where its henvcfg.STCE enables that, and nothing
/// of the other world's. On QEMU 7.2 one bit holds both: M-mode cannot write
/// it while menvcfg.STCE is set (so the H swap leaves the leaving world's
/// value there), a vstimecmp write re-evaluates it whatever henvcfg.STCE
/// says, and while the timer is due a write of VSTIP alone is dropped.
/// `hvip`/`henvcfg`: the entering world's saved values.
/// # Safety
/// The hart implements H and Sstc, runs in M-mode with menvcfg.STCE set
/// (set again on return), and `hvip`/`henvcfg` are the entering world's.
#[inline(always)]
pub unsafe fn settle_vstip(hvip: usize, henvcfg: usize) {
    let now: usize;
    // SAFETY: reading hvip has no side effect (the caller checked H).
    unsafe { core::arch::asm!("csrr {0}, 0x645", out(reg) now, options(nomem, nostack)) };
    if (now | hvip) & VSTIP != 0 {
        // SAFETY: forwarded to the caller.
        unsafe { settle_vstip_slow(now, hvip, henvcfg) };
    }
}

/// `settle_vstip` when either world has VSTIP set.
/// # Safety
/// As `settle_vstip`.
#[inline(never)]
unsafe fn settle_vstip_slow(now: usize, hvip: usize, henvcfg: usize) {
    let timer = if henvcfg & STCE != 0 { now & VSTIP } else { 0 };
    let want = (hvip & VSTIP) | timer;
    if now & VSTIP == want {
        return;
    }
    // A whole-register write (QEMU drops one whose mask is VSTIP alone
    // while the timer is due), with menvcfg.STCE clear for it.
    // SAFETY: with menvcfg.STCE clear for these three instructions hvip.VSTIP
    // is M-writable; nothing runs below M meanwhile, and STCE is set again.
    unsafe {
        core::arch::asm!("csrc 0x30a, {s}", "csrw 0x645, {v}", "csrs 0x30a, {s}",
            s = in(reg) STCE, v = in(reg) (now & !VSTIP) | want, options(nomem, nostack));
    }
}

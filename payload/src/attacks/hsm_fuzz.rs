//! The HSM fuzz job (`fuzz=`): random HSM calls on this and the other harts,
//! with probes of the live EPM in between; counters `fuzz` reports.

use super::*;

pub static HSMFUZZ_ON: AtomicBool = AtomicBool::new(false);
pub static HSMFUZZ_CALLS: AtomicUsize = AtomicUsize::new(0);
pub static HSMFUZZ_BAD: AtomicUsize = AtomicUsize::new(0);
pub static HSMFUZZ_FIRST_BAD: AtomicUsize = AtomicUsize::new(0);

pub(super) fn documented(ret: &SbiRet) -> bool {
    ret.error == 0 || (-13..=-1).contains(&(ret.error as isize))
}

/// Random HSM calls on itself and the other harts, with probes of the live
/// EPM in between (bootarg `fuzz=` on several harts).
pub(super) fn hsm_fuzz_job(me: usize) {
    use hsm::*;
    let mut rng = Rng(time() ^ ((me as u64) << 32) | 1);
    let entry = crate::rt::secondary_entry();
    while HSMFUZZ_ON.load(SeqCst) {
        probe_live();
        let target = match rng.below(6) {
            0 => usize::MAX - rng.below(4) as usize,
            1 => rng.below(64) as usize,
            _ => rng.below(MAX_HARTS as u64) as usize,
        };
        // (No odd address: the SM accepts one for a non-retentive suspend,
        // unlike hart_start, and the hart then dies on a misaligned fetch.)
        let addr = match rng.below(5) {
            0 => keystone_abi::layout::SM_BASE + 0x100,
            1 => 0x1000,
            2 => 0,
            _ => entry,
        };
        let (f, ret) = match rng.below(16) {
            0..=5 => (HART_GET_STATUS, call(EID_HSM, HART_GET_STATUS, [target, 0, 0])),
            6..=9 => (
                HART_START,
                call(EID_HSM, HART_START, [target, addr, harts::TAG_ATTACK | JOB_HSMFUZZ]),
            ),
            10 => (HART_SUSPEND, suspend(suspend_type::RETENTIVE, JOB_HSMFUZZ)),
            11 => (
                HART_SUSPEND,
                call(
                    EID_HSM,
                    HART_SUSPEND,
                    [suspend_type::NON_RETENTIVE as usize, addr, harts::TAG_ATTACK | JOB_HSMFUZZ],
                ),
            ),
            12 => (HART_SUSPEND, call(EID_HSM, HART_SUSPEND, [rng.next() as usize, addr, 0])),
            13 => return,
            _ => (0x42, call(EID_HSM, 0x42 + rng.below(4) as usize, [target, addr, 0])),
        };
        HSMFUZZ_CALLS.fetch_add(1, SeqCst);
        let bad = !documented(&ret) || (f == HART_GET_STATUS && ret.error == 0 && ret.value > 6);
        if bad {
            HSMFUZZ_BAD.fetch_add(1, SeqCst);
            let _ = HSMFUZZ_FIRST_BAD.compare_exchange(
                0,
                (f << 16) | (ret.error & 0xffff),
                SeqCst,
                SeqCst,
            );
        }
    }
}

//! `timer`: the host's deadline against the enclave's set_timer, with and
//! without Sstc, on harts whose host never armed one.

use super::*;

pub(super) const COUNT_LONG: u64 = 300_000_000;
pub(super) const COUNT_SHORT: u64 = 200_000;
/// RUN/RESUMEs allowed for a short count when no deadline is armed.
pub(super) const MAX_STOPS_IDLE: usize = 1000;

/// Runs a short counting enclave from `slot` with no timer ever armed on
/// this hart; (exit ok, detail).
pub(super) fn count_without_deadline(slot: usize) -> (bool, SbiRet, usize) {
    let Ok(eid) = make(slot) else { return (false, SbiRet { error: usize::MAX, value: 0 }, 0) };
    command(slot, 3, COUNT_SHORT, 0);
    let (ret, n) = run_bounded(eid, MAX_STOPS_IDLE);
    destroy(eid);
    (ret.error == 0 && ret.value as u64 == COUNT_SHORT, ret, n)
}

pub(super) static NOTIMER_RESULT: AtomicUsize = AtomicUsize::new(0);
pub(super) static NOTIMER_STOPS: AtomicUsize = AtomicUsize::new(0);

pub(super) fn notimer_job(_me: usize) {
    let (ok, ret, n) = count_without_deadline(1);
    NOTIMER_STOPS.store(n, SeqCst);
    NOTIMER_RESULT.store(if ok { 1 } else { 2 + (ret.error & 0xffff_ffff) }, SeqCst);
}

/// Finding 5c: with no deadline ever armed (QEMU resets mtimecmp to 0),
/// RUN/RESUME must still let the enclave progress.
pub(super) fn timer_never_armed(hw: &Hw) {
    let (ok, ret, n) = count_without_deadline(0);
    check!(ok, "timer: with no host deadline armed, RUN lets the enclave run to its exit (hart {})", hw.me;
        "counting to {COUNT_SHORT} returned ({}, {:#x}) after {n} INTERRUPTED (limit {MAX_STOPS_IDLE})", ret.error as isize, ret.value);
    if let Some(other) = hw.others().next() {
        NOTIMER_RESULT.store(0, SeqCst);
        start_job(other, JOB_NOTIMER);
        let done = wait_for(60 * SECOND, || NOTIMER_RESULT.load(SeqCst) != 0);
        let r = NOTIMER_RESULT.load(SeqCst);
        check!(done && r == 1, "timer: with no host deadline armed, RUN lets the enclave run to its exit (hart {other}, never armed)";
            "done {done}, result {}, {} INTERRUPTED", r as isize - 2, NOTIMER_STOPS.load(SeqCst));
        wait_for(SECOND, || status(other) == hart_state::STOPPED);
    }
}

pub(super) fn timers() {
    // 5a: the enclave's set_timer(MAX) must not lift the host's deadline.
    // (Re-armed until the enclave has made its call: a first RUN can be
    // slower than the deadline.)
    if let Ok(eid) = make(0) {
        command(0, 17, COUNT_LONG, 0);
        let mut f = fid::RUN_ENCLAVE;
        let (mut ret, mut tries, mut ms) = (SbiRet { error: 0, value: 0 }, 0, 0);
        while tries < 100 {
            let t0 = time();
            set_timer(t0 + SECOND / 1000);
            ret = ks(f, eid);
            ms = (time() - t0) / (SECOND / 1000);
            set_timer(u64::MAX);
            f = fid::RESUME_ENCLAVE;
            tries += 1;
            if ret.error != err::INTERRUPTED || utm_get(0, 0x50) == 1 {
                break;
            }
        }
        check!(ret.error == err::INTERRUPTED && utm_get(0, 0x50) == 1,
            "timer: an enclave's set_timer(u64::MAX) cannot hold the hart past the host's deadline";
            "host deadline 1 ms; the call after the enclave's set_timer returned ({}, {}) after {ms} ms: the enclave counted to the end", ret.error as isize, ret.value);
        destroy(eid);
    }
    // The enclave's own deadline ends its run (Keystone/Eyrie rely on it).
    if let Ok(eid) = make(0) {
        command(0, 17, COUNT_LONG, SECOND / 1000);
        let t0 = time();
        let ret = ks(fid::RUN_ENCLAVE, eid);
        let ms = (time() - t0) / (SECOND / 1000);
        set_timer(u64::MAX);
        check!(ret.error == err::INTERRUPTED, "timer: an enclave's own set_timer(now + 1 ms) ends its run with INTERRUPTED";
            "RUN returned ({}, {}) after {ms} ms", ret.error as isize, ret.value);
        destroy(eid);
    }
    // 5b: after the enclave leaves, the host's armed deadline still fires.
    for (what, cmd, arg) in [
        ("an enclave exit", 1u64, 0x55u64),
        ("an enclave's edge-call STOP", 2, 0),
        ("an enclave exit that followed its set_timer(u64::MAX)", 17, 1000),
    ] {
        let Ok(eid) = make(0) else { continue };
        command(0, cmd, arg, 0);
        let deadline = time() + SECOND / 20;
        set_timer(deadline);
        let ret = ks(fid::RUN_ENCLAVE, eid);
        let back = time();
        let fired = wait_for(SECOND, || crate::sbi::sip() & SIP_STIP != 0);
        let early = back >= deadline;
        check!(fired, "timer: the host's armed timer still fires after {what}";
            "RUN returned ({}, {:#x}) {} the 50 ms deadline; no STIP within 1 s after it", ret.error as isize, ret.value,
            if early { "after" } else { "before" });
        set_timer(u64::MAX);
        if ret.error == err::EDGE_CALL_HOST {
            ks(fid::RESUME_ENCLAVE, eid);
        }
        destroy(eid);
    }
}

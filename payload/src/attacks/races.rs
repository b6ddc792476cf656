//! `hsm-race`: harts started, suspended, resumed and stopped while
//! CREATE/DESTROY run, probing EPMs that must be closed; the shared probe
//! state `fuzz` also uses.

use super::*;

/// Create arguments with one measured page (CREATE stays short, rounds many).
pub(super) fn race_args(slot: usize) -> CreateArgs {
    let mut a = args(slot);
    a.runtime_paddr = a.epm_paddr + 0x1000;
    a.user_paddr = a.runtime_paddr;
    a.free_paddr = a.runtime_paddr;
    a
}

pub(super) static RACE_GEN: AtomicUsize = AtomicUsize::new(0);
pub(super) static RACE_EPM: AtomicUsize = AtomicUsize::new(0);
pub(super) static CREATED_GEN: AtomicUsize = AtomicUsize::new(0);
#[allow(clippy::declare_interior_mutable_const)]
pub(super) const Z: AtomicUsize = AtomicUsize::new(0);
pub(super) static RACE_RESULT: [AtomicUsize; MAX_HARTS] = [Z; MAX_HARTS];
pub(super) static RACE_LEAK: [AtomicUsize; MAX_HARTS] = [Z; MAX_HARTS];

pub(super) const CLOSED: usize = 1;
pub(super) const BREACH_READ: usize = 2;
pub(super) const BREACH_WRITE: usize = 3;
pub(super) const UNDECIDED: usize = 4;

/// A freshly started hart: read the EPM hart 0 is creating until the read
/// faults (closed, as it must be) or CREATE has returned and it still reads.
pub(super) fn race_job(me: usize) {
    let gen = RACE_GEN.load(SeqCst);
    let epm = RACE_EPM.load(SeqCst);
    let start = time();
    let outcome = loop {
        let created = CREATED_GEN.load(SeqCst) == gen;
        let mut v = 0;
        if traps::catch(|| v = load(epm + SECRET_OFF)).is_some() {
            break CLOSED;
        }
        if created {
            RACE_LEAK[me].store(v as usize, SeqCst);
            let wrote = traps::catch(|| store(epm + PATCH_OFF, PATCH)).is_none();
            break if wrote { BREACH_WRITE } else { BREACH_READ };
        }
        if time() - start > SECOND / 5 {
            break UNDECIDED;
        }
    };
    RACE_RESULT[me].store(gen << 8 | outcome, SeqCst);
}

/// Finding 3: hart_start(h) then CREATE at once, thousands of times; the
/// started hart must never see the new EPM open.
pub(super) fn race_start(hw: &Hw, rounds: usize) {
    let helpers = hw.others_mask();
    let n_helpers = helpers.count_ones();
    let (mut closed, mut breach_r, mut breach_w, mut undecided, mut failed) = (0, 0, 0, 0, 0);
    let (mut patched_runs, mut first) = (0usize, None);
    let t0 = time();
    let mut done = 0;
    for r in 0..rounds {
        let gen = r + 1;
        let slot = 4 + (r % 2);
        let a = race_args(slot);
        load_image(&a);
        put_secret(&a);
        CREATED_GEN.store(0, SeqCst);
        RACE_EPM.store(a.epm_paddr as usize, SeqCst);
        RACE_GEN.store(gen, SeqCst);
        for h in hw.others() {
            start_job(h, JOB_RACE);
        }
        for _ in 0..(r % 48) * 4 {
            core::hint::spin_loop();
        }
        let ret = create_raw(&a);
        CREATED_GEN.store(gen, SeqCst);
        let reported =
            wait_for(2 * SECOND, || hw.others().all(|h| RACE_RESULT[h].load(SeqCst) >> 8 == gen));
        let parked = wait_for(2 * SECOND, || hw.others().all(|h| status(h) == hart_state::STOPPED));
        if ret.error != 0 || !reported || !parked {
            failed += 1;
            crate::println!(
                "# hsm-race: round {r}: create ({}), reported {reported}, parked {parked}",
                ret.error as isize
            );
            if ret.error == 0 {
                destroy(ret.value);
            }
            if !parked {
                break;
            }
            continue;
        }
        let mut wrote = false;
        for h in hw.others() {
            match RACE_RESULT[h].load(SeqCst) & 0xff {
                CLOSED => closed += 1,
                BREACH_READ => breach_r += 1,
                BREACH_WRITE => {
                    breach_w += 1;
                    wrote = true;
                }
                _ => undecided += 1,
            }
            if RACE_RESULT[h].load(SeqCst) & 0xff >= BREACH_READ && first.is_none() {
                first = Some((r, h, RACE_LEAK[h].load(SeqCst)));
            }
        }
        if wrote && patched_runs == 0 {
            // Does the enclave now run with the patched (post-measurement) word?
            command(slot, 5, (a.epm_paddr as usize + PATCH_OFF) as u64, 0);
            let (run, _) = run_bounded(ret.value, 100);
            if run.error == 0 && run.value as u64 == PATCH {
                patched_runs += 1;
            }
        }
        destroy(ret.value);
        done += 1;
    }
    let secs = (time() - t0) / SECOND;
    let breaches = breach_r + breach_w;
    crate::println!(
        "# hsm-race start: {done} rounds in {secs} s with {n_helpers} helper(s): closed {closed}, read {breach_r}, read+write {breach_w}, undecided {undecided}, failed {failed}"
    );
    let first_txt = first.map_or((0, 0, 0), |f| f);
    check!(breaches == 0 && failed == 0 && done == rounds,
        "hsm-race: a hart being started cannot read or write an EPM CREATE closed (harts started {n_helpers} at a time) # rounds {done}, breaches {breaches}";
        "first at round {} on hart {} (read {:#x}, the secret word); {breach_w} of them also wrote the measured page{}; {failed} rounds failed",
        first_txt.0, first_txt.1, first_txt.2,
        if patched_runs > 0 { ", and the enclave then ran with the patched word" } else { "" });
}

pub(super) static PROBE_ON: AtomicBool = AtomicBool::new(false);
/// The EPM hart 0 keeps alive right now (generation 0: none).
pub static LIVE_GEN: AtomicUsize = AtomicUsize::new(0);
pub static LIVE_EPM: AtomicUsize = AtomicUsize::new(0);
pub static PROBES: AtomicUsize = AtomicUsize::new(0);
pub static BREACHES: AtomicUsize = AtomicUsize::new(0);
pub static FIRST_BREACH: AtomicUsize = AtomicUsize::new(0);
pub static HSM_OPS: AtomicUsize = AtomicUsize::new(0);

/// One read of the live EPM; a read that works while the same enclave was
/// alive before and after it is a breach.
pub fn probe_live() {
    let g1 = LIVE_GEN.load(SeqCst);
    if g1 == 0 {
        return;
    }
    let epm = LIVE_EPM.load(SeqCst);
    let faulted = traps::catch(|| {
        load(epm + SECRET_OFF);
    })
    .is_some();
    let g2 = LIVE_GEN.load(SeqCst);
    PROBES.fetch_add(1, SeqCst);
    if !faulted && g1 == g2 {
        BREACHES.fetch_add(1, SeqCst);
        let _ = FIRST_BREACH.compare_exchange(0, g1, SeqCst, SeqCst);
    }
}

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub(super) fn suspend(kind: u32, job: usize) -> SbiRet {
    call(
        hsm::EID_HSM,
        hsm::HART_SUSPEND,
        [kind as usize, crate::rt::secondary_entry(), harts::TAG_ATTACK | job],
    )
}

/// Probes the live EPM between HSM operations on itself: retentive and
/// non-retentive suspends (hart 0's IPIs wake it) and stops (hart 0
/// restarts it).
pub(super) fn probe_job(me: usize) {
    use hsm::suspend_type::{NON_RETENTIVE, RETENTIVE};
    let mut rng = Rng(time() ^ ((me as u64) << 40) | 1);
    // Just (re)started or resumed: the PMP it entered with is what is under
    // test, so probe hard for a while first.
    let t0 = time();
    while PROBE_ON.load(SeqCst) && time() - t0 < SECOND / 1000 {
        probe_live();
    }
    while PROBE_ON.load(SeqCst) {
        for _ in 0..16 {
            probe_live();
        }
        HSM_OPS.fetch_add(1, SeqCst);
        match rng.below(6) {
            0 => {
                suspend(RETENTIVE, JOB_PROBE);
            }
            1 => {
                suspend(NON_RETENTIVE, JOB_PROBE);
            }
            2 => return,
            _ => {}
        }
    }
}

/// Hart 0 creates and destroys enclaves while the other harts probe and
/// suspend, resume and stop themselves (restarted here).
pub(super) fn race_hsm_cycle(hw: &Hw, rounds: usize) {
    PROBE_ON.store(true, SeqCst);
    PROBES.store(0, SeqCst);
    BREACHES.store(0, SeqCst);
    FIRST_BREACH.store(0, SeqCst);
    HSM_OPS.store(0, SeqCst);
    let mask = hw.others_mask();
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut failed = 0;
    let mut restarts = 0;
    for r in 0..rounds {
        let a = race_args(6 + (r % 2));
        load_image(&a);
        put_secret(&a);
        for h in hw.others() {
            if status(h) == hart_state::STOPPED {
                start_job(h, JOB_PROBE);
                restarts += 1;
            }
        }
        // Scans the window between a restart and CREATE, as race_start does.
        for _ in 0..(r % 48) * 4 {
            core::hint::spin_loop();
        }
        let ret = create_raw(&a);
        if ret.error != 0 {
            failed += 1;
            continue;
        }
        LIVE_EPM.store(a.epm_paddr as usize, SeqCst);
        LIVE_GEN.store(r + 1, SeqCst);
        call(sbi_spec::spi::EID_SPI, sbi_spec::spi::SEND_IPI, [mask, 0, 0]);
        let hold = rng.below(SECOND / 1000);
        wait_for(hold, || false);
        LIVE_GEN.store(0, SeqCst);
        if destroy(ret.value).error != 0 {
            failed += 1;
        }
    }
    PROBE_ON.store(false, SeqCst);
    let parked = wait_for(5 * SECOND, || {
        call(sbi_spec::spi::EID_SPI, sbi_spec::spi::SEND_IPI, [mask, 0, 0]);
        hw.others().all(|h| status(h) == hart_state::STOPPED)
    });
    let (probes, breaches, ops) =
        (PROBES.load(SeqCst), BREACHES.load(SeqCst), HSM_OPS.load(SeqCst));
    crate::println!("# hsm-race cycle: {rounds} rounds, {probes} probes, {ops} HSM ops, {restarts} restarts, {breaches} breaches");
    check!(breaches == 0 && failed == 0 && parked,
        "hsm-race: harts suspending, resuming and stopping never read a live EPM # rounds {rounds}, probes {probes}, hsm ops {ops}, breaches {breaches}";
        "first breach in round {}; {failed} create/destroy failures; helpers parked at the end: {parked}", FIRST_BREACH.load(SeqCst) as isize - 1);
}

//! `attack=reset-race`: SRST cold reboot racing an enclave on another hart
//! that rewrites its sealing key into its EPM; no word of the key survives.

use super::*;

/// Host DRAM the race keeps across its reboots: magic, round, bad rounds,
/// key words seen after the reboots, then the 16 words of the key.
pub(super) const RACE_MARKER: usize = 0x8ff1_0000;
pub(super) const RACE_MAGIC: u64 = 0x4b53_5241_4345_5231; // "KSRACER1"
pub(super) const RACE_SLOT: usize = 7;
pub(super) const KEY_WORDS: usize = 16;
/// Where the enclave's command 21 has GET_SEALING_KEY write the key.
pub(super) const KEY_OFF: usize = 0x2000;
pub(super) static RACE_EID: AtomicUsize = AtomicUsize::new(usize::MAX);

pub(super) fn race_word(i: usize) -> u64 {
    dram_word(RACE_MARKER, i)
}

pub(super) fn set_race_word(i: usize, w: u64) {
    set_dram_word(RACE_MARKER, i, w);
}

/// Runs the sealing enclave on another hart until the machine resets.
pub(super) fn sealer_job(_me: usize) {
    let eid = RACE_EID.load(SeqCst);
    let mut ret = ks(fid::RUN_ENCLAVE, eid);
    while ret.error == err::INTERRUPTED {
        ret = ks(fid::RESUME_ENCLAVE, eid);
    }
    crate::println!("# reset-race: the sealing enclave stopped ({})", ret.error as isize);
}

/// Bootarg `attack=reset-race rounds=N`: finding 1 of the reboot attack.
/// Each round: an enclave on the last hart rewrites its sealing key into its
/// EPM as fast as it can while this hart calls SRST cold reboot (other harts
/// spin in S-mode). After each reboot (same QEMU: RAM survives) the EPM must
/// not hold a word of the key. The tally survives the reboots in host DRAM.
pub fn reset_race(fdt: &fdt::Fdt, me: usize, rounds: u64) {
    let hw = Hw::from_fdt(fdt, me);
    let Some(victim) = hw.others().last() else {
        skip!("reset: SRST while an enclave rewrites its sealing key on another hart leaves no key word in DRAM"; "one hart");
        return;
    };
    let epm = args(RACE_SLOT).epm_paddr as usize;
    let mut round = 0;
    if race_word(0) == RACE_MAGIC {
        let key = |i| race_word(4 + i);
        let survived = (0..KEY_WORDS)
            .filter(|&i| {
                // SAFETY: no enclave is alive at boot: plain host DRAM.
                unsafe { ((epm + KEY_OFF + 8 * i) as *const u64).read_volatile() == key(i) }
            })
            .count();
        round = race_word(1) + 1;
        set_race_word(2, race_word(2) + u64::from(survived != 0));
        set_race_word(3, race_word(3) + survived as u64);
        crate::println!(
            "# reset-race: round {round}: {survived} of {KEY_WORDS} key words survived the reboot"
        );
        // SAFETY: host DRAM again; leave nothing for the next round.
        unsafe { core::ptr::write_bytes((epm + KEY_OFF) as *mut u64, 0, KEY_WORDS) };
        if round >= rounds {
            let (bad, words) = (race_word(2), race_word(3));
            set_race_word(0, 0);
            check!(bad == 0, "reset: SRST while an enclave rewrites its sealing key on another hart leaves no key word in DRAM # rounds {rounds}";
                "the key survived {bad} of {rounds} reboots ({words} words in all)");
            return;
        }
    } else {
        for i in 1..4 {
            set_race_word(i, 0);
        }
    }
    let a = args(RACE_SLOT);
    load_image(&a);
    let ret = create_raw(&a);
    if ret.error != 0 {
        set_race_word(0, 0);
        check!(false, "reset: the race's sealing enclave is created"; "create error {}", ret.error as isize);
        return;
    }
    RACE_EID.store(ret.value, SeqCst);
    command(RACE_SLOT, 21, 0, 0);
    harts::HOLD.store(true, SeqCst);
    for h in hw.others().filter(|&h| h != victim) {
        call(hsm::EID_HSM, hsm::HART_START, [h, crate::rt::secondary_entry(), harts::TAG_STOP]);
    }
    start_job(victim, JOB_SEALER);
    // A few keys written, then a little more for every round: the reboot
    // lands at a different point of the enclave's loop each time.
    let started = wait_for(30 * SECOND, || utm_word(RACE_SLOT, 1) >= 3);
    let key: [u64; KEY_WORDS] = core::array::from_fn(|i| utm_word(RACE_SLOT, 0x40 + i));
    if !started || key.iter().all(|&w| w == 0) {
        set_race_word(0, 0);
        check!(false, "reset: the race's enclave writes its sealing key"; "{} keys written", utm_word(RACE_SLOT, 1));
        return;
    }
    for (i, w) in key.iter().enumerate() {
        set_race_word(4 + i, *w);
    }
    set_race_word(1, round);
    set_race_word(0, RACE_MAGIC);
    // SAFETY: orders the marker before the reset.
    unsafe { core::arch::asm!("fence rw, rw") };
    let spin = (round as usize * 7919) % 20_000;
    for _ in 0..spin {
        core::hint::spin_loop();
    }
    use sbi_spec::srst::*;
    let r = call(
        EID_SRST,
        SYSTEM_RESET,
        [RESET_TYPE_COLD_REBOOT as usize, RESET_REASON_NO_REASON as usize, 0],
    );
    set_race_word(0, 0);
    check!(false, "reset: SRST cold reboot with an enclave running on another hart resets the machine";
        "it returned error {}", r.error as isize);
}

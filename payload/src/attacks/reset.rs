//! `attack=reset-srst` / `attack=reset-testdev`: the two-stage reset attack
//! (an enclave's secret must not survive a reboot).

use super::*;

pub(super) const MARKER: usize = 0x8ff0_0000;
pub(super) const MARKER_MAGIC: u64 = 0x4b53_5245_5345_5431; // "KSRESET1"
pub(super) const RESET_SLOT: usize = 6;
pub(super) const RESET_SECRET_WORDS: usize = 512;

pub(super) fn reset_secret_present(epm: usize) -> usize {
    (0..RESET_SECRET_WORDS)
        .filter(|&i| {
            // SAFETY: outside any live enclave at boot: plain host DRAM.
            unsafe {
                ((epm + SECRET_OFF + 8 * i) as *const u64).read_volatile() == secret_word(epm, i)
            }
        })
        .count()
}

/// Word `i` of host DRAM at `at`, which a reset leaves alone (QEMU keeps RAM):
/// where the reset attacks keep what one boot tells the next.
pub(super) fn dram_word(at: usize, i: usize) -> u64 {
    // SAFETY: host DRAM the payload reserves for its markers.
    unsafe { ((at + 8 * i) as *const u64).read_volatile() }
}

pub(super) fn set_dram_word(at: usize, i: usize, w: u64) {
    // SAFETY: as in `dram_word`.
    unsafe { ((at + 8 * i) as *mut u64).write_volatile(w) };
}

pub(super) fn marker_word(i: usize) -> u64 {
    dram_word(MARKER, i)
}

pub(super) fn set_marker(words: [u64; 3]) {
    for (i, w) in words.into_iter().enumerate() {
        set_dram_word(MARKER, i, w);
    }
    // SAFETY: orders the marker before the reset.
    unsafe { core::arch::asm!("fence rw, rw") };
}

/// Plants the reset attacks' secret in the EPM at `epm` (payload memory until CREATE).
pub(super) fn put_reset_secret(epm: usize) {
    for i in 0..RESET_SECRET_WORDS {
        // SAFETY: payload memory until CREATE.
        unsafe { ((epm + SECRET_OFF + 8 * i) as *mut u64).write_volatile(secret_word(epm, i)) };
    }
}

/// Zeroes that secret again once the EPM is host memory (no secret for the next run).
pub(super) fn clear_reset_secret(epm: usize) {
    // SAFETY: host DRAM again (no live enclave there).
    unsafe { core::ptr::write_bytes((epm + SECRET_OFF) as *mut u64, 0, RESET_SECRET_WORDS) };
}

/// Bootargs `attack=reset-srst` or `attack=reset-testdev`. Stage 1 (no
/// marker): create an enclave whose EPM holds a known secret, leave it
/// stopped mid-run, write a marker (magic, kind, EPM) at MARKER, and reset:
/// SBI SRST cold reboot, or a store of 0x7777 to the SiFive test device from
/// S-mode (which must fault). Stage 2 (marker found, the next boot in the
/// same QEMU, whose RAM survives a reset): the EPM must not hold the secret.
pub fn reset(kind: &str) {
    // 1: SBI SRST, 2: the test device, 3: a reset from outside (QEMU's
    // system_reset, as a watchdog or a reset button would do it).
    let how: u64 = match kind {
        "reset-srst" => 1,
        "reset-testdev" => 2,
        "reset-external" => 3,
        _ => {
            check!(false, "attack={kind} is known"; "use reset-srst, reset-testdev or reset-external");
            return;
        }
    };
    let testdev = how == 2;
    let a = args(RESET_SLOT);
    let epm = a.epm_paddr as usize;
    let found = marker_word(0) == MARKER_MAGIC;
    let present = reset_secret_present(epm);
    crate::println!(
        "# reset: boot finds marker {}, {present} of {RESET_SECRET_WORDS} secret words at EPM {epm:#x}",
        if found { "yes" } else { "no" }
    );
    if found {
        let was = marker_word(1);
        let was_testdev = was == 2;
        let marked_epm = marker_word(2) as usize;
        set_marker([0, 0, 0]);
        let name = match was {
            2 => "reset-testdev",
            3 => "reset-external",
            _ => "reset-srst",
        };
        if was_testdev {
            check!(false, "reset-testdev: an S-mode store to the SiFive test device faults (scause 7) instead of resetting the machine";
                "the store reset the machine: this boot found stage 1's marker");
        }
        check!(present == 0 && marked_epm == epm, "{name}: after the reset the old enclave's EPM no longer holds its secret";
            "{present} of {RESET_SECRET_WORDS} secret words survived the reset at {epm:#x}");
        clear_reset_secret(epm);
        return;
    }
    check!(present == 0, "reset: no enclave secret in DRAM before stage 1"; "{present} secret words at {epm:#x} without a marker");
    load_image(&a);
    put_reset_secret(epm);
    let ret = create_raw(&a);
    check!(ret.error == 0, "reset: stage 1 creates the enclave holding the secret"; "create error {}", ret.error as isize);
    if ret.error != 0 {
        return;
    }
    let eid = ret.value;
    command(RESET_SLOT, 2, 0, 0);
    let stop = ks(fid::RUN_ENCLAVE, eid);
    let closed = traps::catch(|| {
        load(epm + SECRET_OFF);
    });
    check!(stop.error == err::EDGE_CALL_HOST && closed.is_some(), "reset: the enclave is alive (stopped in an edge call) and its EPM closed to the host";
        "RUN ({}, {:#x}), host read fault {:?}", stop.error as isize, stop.value, closed);
    set_marker([MARKER_MAGIC, how, epm as u64]);
    if how == 3 {
        crate::println!("# reset: stage 1 done, waiting for an external reset");
        loop {
            core::hint::spin_loop();
        }
    }
    if testdev {
        crate::println!(
            "# reset: stage 1 done, S-mode store of 0x7777 to the test device at 0x100000"
        );
        let got = traps::catch(|| {
            // SAFETY: the attack: QEMU's SiFive test device resets on 0x7777.
            unsafe { (0x10_0000 as *mut u32).write_volatile(0x7777) };
        });
        set_marker([0, 0, 0]);
        check!(matches!(got, Some((7, 0x10_0000))), "reset-testdev: an S-mode store to the SiFive test device faults (scause 7) instead of resetting the machine";
            "got {:?}", got);
    } else {
        crate::println!("# reset: stage 1 done, SBI SRST cold reboot");
        use sbi_spec::srst::*;
        let r = call(
            EID_SRST,
            SYSTEM_RESET,
            [RESET_TYPE_COLD_REBOOT as usize, RESET_REASON_NO_REASON as usize, 0],
        );
        set_marker([0, 0, 0]);
        check!(false, "reset-srst: SBI SRST cold reboot resets the machine"; "it returned error {}", r.error as isize);
    }
    ks(fid::RESUME_ENCLAVE, eid);
    destroy(eid);
}

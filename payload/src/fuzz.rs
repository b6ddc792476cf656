//! A seeded random SBI/SM call fuzzer: thousands of calls with random
//! extension and function ids and hostile arguments (pointers into the SM,
//! into another enclave, unmapped, huge sizes, random words). Every answer
//! must be a documented error code, and a good enclave must still run after.
//!
//! Bootargs: `fuzz=N` (calls) and `seed=S`. Calls whose *success* would end
//! the run on purpose (SRST, legacy shutdown, console output) are left out:
//! they are covered by the conformance checks.
//!
//! The host also sets random values in its sstatus.UXL (its U-mode XLEN, a
//! field of its world) all along. Where the harts have the H extension, the
//! host also writes random values
//! into its H/VS CSRs (and senvcfg) before calls, and every 512 calls runs a
//! fresh enclave through a trap-free sret and an ebreak (test command 16):
//! it must exit with its value, unaffected. With two or more harts the other
//! harts make random HSM calls (start, stop, suspend, status; good and bad
//! arguments) all along, which must get documented answers, and read the
//! victim's EPM between them, which must always fault.

use crate::attacks::{self, Hw};
use crate::enclaves::{command, create, ks, utm_word};
use crate::harts::wait_for;
use crate::sbi::{call6, legacy, SbiRet};
use crate::tap::skip;
use crate::tap::{check, check_ret};
use core::sync::atomic::Ordering::SeqCst;
use keystone_abi::layout::SM_BASE;
use keystone_abi::sm::{err, fid, KEYSTONE_EID};
use sbi_spec::hsm::hart_state;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const KEYSTONE_ERRORS: [usize; 27] = [
    err::SUCCESS,
    err::UNKNOWN_ERROR,
    err::INVALID_ID,
    err::INTERRUPTED,
    err::PMP_FAILURE,
    err::NOT_RUNNABLE,
    err::NOT_DESTROYABLE,
    err::REGION_OVERLAPS,
    err::NOT_ACCESSIBLE,
    err::ILLEGAL_ARGUMENT,
    err::NOT_RUNNING,
    err::NOT_RESUMABLE,
    err::EDGE_CALL_HOST,
    err::NOT_INITIALIZED,
    err::NO_FREE_RESOURCE,
    err::SBI_PROHIBITED,
    err::ILLEGAL_PTE,
    err::NOT_FRESH,
    err::DEPRECATED,
    err::NOT_IMPLEMENTED,
    err::PMP_REGION_SIZE_INVALID,
    err::PMP_REGION_NOT_PAGE_GRANULARITY,
    err::PMP_REGION_NOT_ALIGNED,
    err::PMP_REGION_MAX_REACHED,
    err::PMP_REGION_INVALID,
    err::PMP_REGION_OVERLAP,
    err::PMP_REGION_IMPOSSIBLE_TOR,
];

/// A hostile argument: mostly addresses the SM must refuse, sometimes noise.
fn argument(rng: &mut Rng, victim_epm: usize) -> usize {
    match rng.below(9) {
        0 => 0,
        1 => SM_BASE + rng.below(0x20_0000) as usize,
        2 => victim_epm + rng.below(0x1_0000) as usize,
        3 => rng.below(0x8000_0000) as usize,
        4 => usize::MAX - rng.below(4096) as usize,
        5 => rng.below(64) as usize,
        6 => 0x9000_0000 + rng.below(0x1000_0000) as usize,
        7 => 1usize << rng.below(64),
        _ => rng.next() as usize,
    }
}

/// Picks an (extension, function) pair that cannot end the run on purpose.
fn target(rng: &mut Rng) -> Option<(usize, usize)> {
    use sbi_spec::*;
    let (eid, fid) = match rng.below(10) {
        0 => (base::EID_BASE, rng.below(10) as usize),
        1 => (time::EID_TIME, rng.below(3) as usize),
        2 => (hsm::EID_HSM, 2 + 2 * rng.below(2) as usize), // get_status, or an unknown fid
        3 => (dbcn::EID_DBCN, 1 + 2 * rng.below(2) as usize), // read, or an unknown fid
        4 => (spi::EID_SPI, rng.below(2) as usize),
        5 => (rfnc::EID_RFNC, rng.below(8) as usize),
        6..=8 => (
            KEYSTONE_EID,
            match rng.below(4) {
                0 => rng.below(4000) as usize,
                1 => 2001 + rng.below(6) as usize,
                2 => 3001 + rng.below(6) as usize,
                _ => rng.next() as usize,
            },
        ),
        _ => (rng.next() as usize | 0x1_0000, rng.below(8) as usize),
    };
    // Legacy ids (<= 0x0f) are reached separately; never SRST or shutdown.
    Some((eid, fid))
}

fn documented(eid: usize, ret: &SbiRet) -> bool {
    if eid == KEYSTONE_EID {
        KEYSTONE_ERRORS.contains(&ret.error)
    } else {
        ret.error == 0 || (-13..=-1).contains(&(ret.error as isize))
    }
}

/// A random value for a random H/VS CSR (or senvcfg) of the host.
fn random_h_write(rng: &mut Rng) {
    let list: [usize; 20] = [
        0x600, 0x602, 0x603, 0x604, 0x605, 0x606, 0x60a, 0x643, 0x645, 0x64a, 0x680, 0x200, 0x204,
        0x205, 0x240, 0x241, 0x242, 0x243, 0x280, 0x10a,
    ];
    let csr = list[rng.below(list.len() as u64) as usize];
    let mut value = match rng.below(4) {
        0 => rng.next() as usize,
        1 => 1usize << rng.below(64),
        2 => rng.below(0x1000) as usize,
        _ => 0,
    };
    if csr == 0x200 {
        // vsstatus: its architectural bits only (SIE, SPIE, UBE, SPP, VS, FS,
        // XS, SUM, MXR, UXL, SD). QEMU 7.2 stores any bit and ORs them all
        // into mstatus when V becomes 1 (MPRV included): `attack=vs-mprv`
        // covers that on its own, so a run here does not end in that panic.
        value &= 0x8000_0003_000d_e762;
    }
    if csr == 0x280 || csr == 0x680 {
        // vsatp/hgatp MODE: bare, Sv39(x4) or Sv48(x4) only. QEMU 7.2 keeps
        // any MODE written and aborts (g_assert_not_reached in
        // get_physical_address) when V-mode then translates with it.
        let mode = [0usize, 8, 9][rng.below(3) as usize];
        value = (value & !(0xf << 60)) | (mode << 60);
    }
    // senvcfg may be missing (priv < 1.12): a trap the handler steps over.
    crate::traps::catch(|| {
        attacks::csr_write(csr, value);
    });
}

/// A random sstatus.UXL for the host (QEMU lets S-mode set it; a write of 0
/// keeps the old value): the world switch must give each world its own, so
/// the enclaves the fuzzer runs meanwhile must not notice.
fn random_uxl(rng: &mut Rng) {
    set_uxl(rng.below(3) as usize);
}

/// Writes the host's sstatus.UXL (a whole-register write).
fn set_uxl(uxl: usize) {
    // SAFETY: only the host's own U-mode XLEN; the payload runs no U-mode code.
    unsafe {
        core::arch::asm!(
            "csrr {s}, sstatus",
            "and {s}, {s}, {keep}",
            "or {s}, {s}, {uxl}",
            "csrw sstatus, {s}",
            s = out(reg) _,
            keep = in(reg) !(3usize << 32),
            uxl = in(reg) uxl << 32,
        )
    };
}

/// A fresh enclave from slot 3 through command 16 (sret with no trap
/// before it, an ebreak, exit 0x600d), under the host's current H state.
fn h_probe_enclave(me: usize) -> bool {
    let Ok(eid) = create(3) else { return false };
    command(3, 16, 0, 0);
    // A random send_ipi to this hart leaves SSIP pending; the host never
    // takes it (SIE is off), and a pending host interrupt stops every run
    // of an enclave on its hart (by design): withdraw it first.
    // SAFETY: clears only this hart's supervisor software interrupt.
    unsafe { core::arch::asm!("csrc sip, {0}", in(reg) 1usize << 1) };
    let run = attacks::guarded(me, eid, true, attacks::GUARD, attacks::MAX_GUARDED);
    let ok = run.ret.error == 0
        && run.ret.value == 0x600d
        && utm_word(3, 0x68 / 8) == 0x5c5c
        && run.virt == 0;
    if !ok {
        crate::println!(
            "# fuzz: enclave after random H state: {run}, sscratch seen {:#x}",
            utm_word(3, 0x68 / 8)
        );
    }
    ks(fid::DESTROY_ENCLAVE, eid);
    ok
}

fn status(hart: usize) -> usize {
    crate::sbi::call(sbi_spec::hsm::EID_HSM, sbi_spec::hsm::HART_GET_STATUS, [hart, 0, 0]).value
}

/// Runs `calls` random calls from `seed`; TAP lines with the counts.
pub fn run(calls: u64, seed: u64, hw: &Hw) {
    let mut rng = Rng(seed | 1);
    let victim = create(2).expect("the victim enclave is created");
    let victim_epm = crate::enclaves::args(2).epm_paddr as usize;
    let mut undocumented = 0u64;
    let mut by_kind = [0u64; 3];
    let mut first_bad = None;
    let helpers = hw.count >= 2;
    let mask = hw.others().fold(0usize, |m, h| m | (1 << h));
    let (mut h_runs, mut h_bad) = (0u64, 0u64);
    attacks::LIVE_EPM.store(victim_epm, SeqCst);
    attacks::LIVE_GEN.store(1, SeqCst);
    attacks::PROBES.store(0, SeqCst);
    attacks::BREACHES.store(0, SeqCst);
    if helpers {
        attacks::HSMFUZZ_ON.store(true, SeqCst);
        for h in hw.others() {
            attacks::start_job(h, attacks::JOB_HSMFUZZ);
        }
    }
    for i in 0..calls {
        if helpers && i % 256 == 0 {
            for h in hw.others() {
                if status(h) == hart_state::STOPPED {
                    attacks::start_job(h, attacks::JOB_HSMFUZZ);
                }
            }
            // Wakes harts in a retentive suspend.
            crate::sbi::call(sbi_spec::spi::EID_SPI, sbi_spec::spi::SEND_IPI, [mask, 0, 0]);
        }
        if rng.below(8) == 0 {
            random_uxl(&mut rng);
        }
        if hw.has_h {
            if rng.below(4) == 0 {
                random_h_write(&mut rng);
            }
            if i % 512 == 511 {
                h_runs += 1;
                h_bad += !h_probe_enclave(hw.me) as u64;
            }
        }
        if rng.below(16) == 0 {
            // Legacy calls that only answer: getchar, clear/send IPI, fences.
            let eid = [2usize, 3, 4, 5, 6, 7][rng.below(6) as usize];
            let ret = legacy(eid, argument(&mut rng, victim_epm));
            by_kind[2] += 1;
            if !(ret == usize::MAX || ret as isize >= -5 && ret as isize <= 0 || ret < 256) {
                undocumented += 1;
            }
            continue;
        }
        let Some((eid, f)) = target(&mut rng) else { continue };
        let args: [usize; 6] = core::array::from_fn(|_| argument(&mut rng, victim_epm));
        // The victim must stay alive and the run must not hang in an enclave.
        if eid == KEYSTONE_EID
            && (f == fid::DESTROY_ENCLAVE || f == fid::RUN_ENCLAVE || f == fid::RESUME_ENCLAVE)
            && args[0] == victim
        {
            continue;
        }
        let ret = call6(eid, f, args);
        by_kind[(eid == KEYSTONE_EID) as usize] += 1;
        if !documented(eid, &ret) {
            undocumented += 1;
            first_bad.get_or_insert((eid, f, ret.error));
        }
        if eid == KEYSTONE_EID && f == fid::CREATE_ENCLAVE && ret.error == 0 {
            ks(fid::DESTROY_ENCLAVE, ret.value);
        }
        // Stop any timer a random set_timer armed so the run stays quiet.
        call6(sbi_spec::time::EID_TIME, 0, [usize::MAX, 0, 0, 0, 0, 0]);
    }
    // The host's U-mode back to 64-bit.
    set_uxl(2);
    if hw.has_h {
        attacks::h_reset();
        crate::traps::catch(|| {
            attacks::csr_write(0x10a, 0);
        });
    }
    let parked = !helpers || {
        attacks::HSMFUZZ_ON.store(false, SeqCst);
        wait_for(5 * crate::sbi::SECOND, || {
            crate::sbi::call(sbi_spec::spi::EID_SPI, sbi_spec::spi::SEND_IPI, [mask, 0, 0]);
            hw.others().all(|h| status(h) == hart_state::STOPPED)
        })
    };
    attacks::LIVE_GEN.store(0, SeqCst);
    // SAFETY: withdraws any SSIP a random send_ipi raised on this hart.
    unsafe { core::arch::asm!("csrc sip, {0}", in(reg) 1usize << 1) };
    crate::println!(
        "fuzz: {calls} calls from seed {seed}: {} SBI, {} Keystone, {} legacy; {undocumented} undocumented answers",
        by_kind[0],
        by_kind[1],
        by_kind[2]
    );
    check!(undocumented == 0, "fuzz: every one of {calls} random calls got a documented answer"; "first bad (eid {:#x}, fid {}, error {})", first_bad.map_or(0, |b| b.0), first_bad.map_or(0, |b| b.1), first_bad.map_or(0, |b| b.2) as isize);
    if hw.has_h {
        check!(h_bad == 0, "fuzz: an enclave still runs unaffected after random host H/VS CSR values # runs {h_runs}"; "{h_bad} of {h_runs} runs went wrong");
    } else {
        skip!("fuzz: an enclave still runs unaffected after random host H/VS CSR values"; "no H extension");
    }
    if helpers {
        let (n, bad) = (attacks::HSMFUZZ_CALLS.load(SeqCst), attacks::HSMFUZZ_BAD.load(SeqCst));
        let first = attacks::HSMFUZZ_FIRST_BAD.load(SeqCst);
        crate::println!(
            "fuzz: {n} HSM calls from {} other hart(s), {bad} undocumented answers",
            hw.count - 1
        );
        check!(bad == 0 && parked && n > 0, "fuzz: random HSM calls from the other harts got documented answers # calls {n}"; "{bad} undocumented (first fid {}, error {}); harts parked at the end: {parked}", first >> 16, (first & 0xffff) as u16 as i16);
        let (probes, breaches) = (attacks::PROBES.load(SeqCst), attacks::BREACHES.load(SeqCst));
        check!(breaches == 0, "fuzz: harts making random HSM calls never read the victim's EPM # probes {probes}"; "{breaches} reads succeeded");
    } else {
        skip!("fuzz: random HSM calls from the other harts got documented answers"; "one hart");
        skip!("fuzz: harts making random HSM calls never read the victim's EPM"; "one hart");
    }
    command(2, 1, 0x600d, 0);
    let ret = ks(fid::RUN_ENCLAVE, victim);
    check_ret!(ret, 0, 0x600d, "fuzz: the victim enclave still runs to its exit value afterwards");
    check_ret!(ks(fid::DESTROY_ENCLAVE, victim), 0, 0, "fuzz: and is destroyed cleanly");
    let fresh = create(0);
    check!(fresh.is_ok(), "fuzz: a new enclave can be created afterwards"; "{:?}", fresh);
    if let Ok(e) = fresh {
        ks(fid::DESTROY_ENCLAVE, e);
    }
}

//! A seeded random SBI/SM call fuzzer: thousands of calls with random
//! extension and function ids and hostile arguments (pointers into the SM,
//! into another enclave, unmapped, huge sizes, random words). Every answer
//! must be a documented error code, and a good enclave must still run after.
//!
//! Bootargs: `fuzz=N` (calls) and `seed=S`. Calls whose *success* would end
//! the run on purpose (SRST, legacy shutdown, HSM start/stop/suspend of
//! harts, console output) are left out: they are covered by the
//! conformance checks.

use crate::enclaves::{command, create, ks};
use crate::sbi::{call6, legacy, SbiRet};
use crate::tap::{check, check_ret};
use keystone_abi::layout::SM_BASE;
use keystone_abi::sm::{err, fid, KEYSTONE_EID};

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

/// Runs `calls` random calls from `seed`; TAP lines with the counts.
pub fn run(calls: u64, seed: u64) {
    let mut rng = Rng(seed | 1);
    let victim = create(2).expect("the victim enclave is created");
    let victim_epm = crate::enclaves::args(2).epm_paddr as usize;
    let mut undocumented = 0u64;
    let mut by_kind = [0u64; 3];
    let mut first_bad = None;
    for _ in 0..calls {
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
    // SAFETY: withdraws any SSIP a random send_ipi raised on this hart.
    unsafe { core::arch::asm!("csrc sip, {0}", in(reg) 1usize << 1) };
    crate::println!(
        "fuzz: {calls} calls from seed {seed}: {} SBI, {} Keystone, {} legacy; {undocumented} undocumented answers",
        by_kind[0],
        by_kind[1],
        by_kind[2]
    );
    check!(undocumented == 0, "fuzz: every one of {calls} random calls got a documented answer"; "first bad (eid {:#x}, fid {}, error {})", first_bad.map_or(0, |b| b.0), first_bad.map_or(0, |b| b.1), first_bad.map_or(0, |b| b.2) as isize);
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

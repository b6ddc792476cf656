//! Ours: switchless ocalls (`keystone_enclave::switchless`). Asks the host
//! what to do (ordinary ocall MODE: mode, n, param), does it, reports its
//! figures with an ordinary ocall REPORT (u64s) and returns 0, or
//! `FAILED | code` when something the eapp checks did not hold.
//!
//! - CALLS n: n INC calls, each answer checked (= request + 1); reports
//!   [switchless, ordinary, unclaimed, waited, protocol errors, wrong answers,
//!   status errors, WAIT ocalls] (waited: calls a worker held past the spin
//!   bound, answered after asking the host's run loop to wait).
//! - LATENCY n: n ordinary NOP ocalls and n switchless NOP calls, each timed
//!   with the time CSR; reports [ordinary p10, p50, p90, switchless p10, p50,
//!   p90 (ticks), own instret per switchless call p50, min, switchless count,
//!   ordinary count].
//! - THROUGHPUT ticks: NOP calls with up to SLOTS in flight for that long;
//!   reports [calls completed, ticks taken, calls that failed or fell back].
//! - HOSTILE n: n INC calls while the host scribbles on the ring; reports the
//!   CALLS counters. The eapp must neither crash nor hang.
//! - Any mode: the ring must map (FAILED | 3 if the UTM is too small) and
//!   only once (FAILED | 16 if a second attach is not refused).
//! - SLOW: a 2 s SLEEP_US call, 20 times the 100 ms spin bound, must be
//!   answered through the ring all the same (the claim bound is 10 s, so a
//!   worker takes it), and the next call must work; reports [elapsed ticks,
//!   WAIT ocalls, follow-up path: 1 switchless, 2 ordinary].
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use keystone_abi::edge::test_ocall::NOP;
use keystone_abi::switchless::{mode, test_ocall::*, SLOTS};
use keystone_enclave::switchless::{rdinstret, CallError, Path, PostError, Switchless, Ticket};
use keystone_enclave::{ocall, Error};

keystone_enclave::entry!(main);

const FAILED: usize = 0xBAD0 << 48;

fn rdtime() -> u64 {
    let t: u64;
    // SAFETY: reads the time CSR, which U-mode may read.
    unsafe { core::arch::asm!("rdtime {0}", out(reg) t) };
    t
}

fn report(values: &[u64]) -> usize {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    match ocall(REPORT, &bytes, &mut []) {
        Ok(()) => 0,
        Err(_) => FAILED | 2,
    }
}

fn main() -> usize {
    let mut m = [0u8; 24];
    if ocall(MODE, &[], &mut m).is_err() {
        return FAILED | 1;
    }
    let word = |i: usize| u64::from_le_bytes(m[i * 8..i * 8 + 8].try_into().unwrap());
    let (what, n) = (word(0), word(1));
    let Ok(mut ring) = Switchless::attach() else { return FAILED | 3 };
    // The ring is mapped once: a second attach is refused (-EEXIST).
    if !matches!(Switchless::attach(), Err(Error(e)) if e as isize == -17) {
        return FAILED | 16;
    }
    match what {
        mode::CALLS => calls(&mut ring, n, false),
        mode::HOSTILE => calls(&mut ring, n, true),
        mode::LATENCY => latency(&mut ring, n as usize),
        mode::THROUGHPUT => throughput(&mut ring, n),
        mode::SLOW => slow(&mut ring),
        _ => FAILED | 4,
    }
}

/// [switchless, ordinary, unclaimed, waited, protocol errors, wrong answers,
/// status errors, WAIT ocalls]
fn calls(ring: &mut Switchless, n: u64, hostile: bool) -> usize {
    if hostile {
        ring.set_bounds(2, 20);
    }
    let mut wrong = 0u64;
    let mut status_errors = 0u64;
    for i in 0..n {
        let mut answer = [0u8; 8];
        match ring.call(INC, &i.to_le_bytes(), &mut answer) {
            Ok(Path::Switchless(8) | Path::Ordinary) if u64::from_le_bytes(answer) == i + 1 => {}
            Ok(_) => wrong += 1,
            Err(CallError::Status(_)) => status_errors += 1,
            Err(CallError::Ocall(_)) if !hostile => return FAILED | 5,
            Err(_) if hostile => {}
            Err(_) => return FAILED | 6,
        }
    }
    let s = ring.stats();
    let r = report(&[
        s.switchless,
        s.ordinary,
        s.unclaimed,
        s.waited,
        s.protocol_errors,
        wrong,
        status_errors,
        s.host_waits,
    ]);
    if r != 0 || (!hostile && (wrong != 0 || status_errors != 0)) {
        return FAILED | 7;
    }
    0
}

fn percentiles(v: &mut [u64]) -> [u64; 3] {
    if v.is_empty() {
        return [0; 3];
    }
    v.sort_unstable();
    let at = |p: usize| v[(v.len() - 1) * p / 100];
    [at(10), at(50), at(90)]
}

fn latency(ring: &mut Switchless, n: usize) -> usize {
    let mut ordinary = Vec::with_capacity(n);
    let mut switchless = Vec::with_capacity(n);
    let mut own = Vec::with_capacity(n);
    // Warm-up: caches, TLBs, the worker's spin loop.
    for _ in 0..100 {
        let _ = ocall(NOP, &[], &mut []);
        let _ = ring.call(NOP, &[], &mut []);
    }
    for _ in 0..n {
        let t0 = rdtime();
        if ocall(NOP, &[], &mut []).is_err() {
            return FAILED | 8;
        }
        ordinary.push(rdtime() - t0);
    }
    let mut fell_back = 0u64;
    for _ in 0..n {
        let t0 = rdtime();
        let i0 = rdinstret();
        let t = match ring.post(NOP, &[]) {
            Ok(t) => t,
            Err(_) => {
                fell_back += 1;
                continue;
            }
        };
        let i1 = rdinstret();
        while !ring.ready(&t) {
            core::hint::spin_loop();
        }
        let i2 = rdinstret();
        let r = ring.wait(t, &mut []);
        let i3 = rdinstret();
        let t1 = rdtime();
        match r {
            Ok(_) => {
                switchless.push(t1 - t0);
                own.push((i1 - i0) + (i3 - i2));
            }
            Err(None) => fell_back += 1,
            Err(Some(_)) => return FAILED | 9,
        }
    }
    let o = percentiles(&mut ordinary);
    let s = percentiles(&mut switchless);
    let i = percentiles(&mut own);
    let count = switchless.len() as u64;
    let min_own = own.first().copied().unwrap_or(0);
    let r = report(&[o[0], o[1], o[2], s[0], s[1], s[2], i[1], min_own, count, fell_back]);
    if r != 0 || count == 0 {
        return FAILED | 10;
    }
    0
}

/// Up to SLOTS calls in flight, oldest waited for first, for `ticks`.
fn throughput(ring: &mut Switchless, ticks: u64) -> usize {
    let mut queue: [Option<Ticket>; SLOTS] = Default::default();
    let (mut head, mut len) = (0usize, 0usize);
    let (mut done, mut failed) = (0u64, 0u64);
    let start = rdtime();
    let mut posting = true;
    loop {
        if posting && rdtime() - start >= ticks {
            posting = false;
        }
        while posting && len < SLOTS {
            match ring.post(NOP, &[]) {
                Ok(t) => {
                    queue[(head + len) % SLOTS] = Some(t);
                    len += 1;
                }
                Err(PostError::Full) => break,
                Err(_) => return FAILED | 11,
            }
        }
        if len == 0 {
            break;
        }
        let t = queue[head].take().expect("queued");
        head = (head + 1) % SLOTS;
        len -= 1;
        match ring.wait(t, &mut []) {
            Ok(_) => done += 1,
            Err(_) => failed += 1,
        }
    }
    let took = rdtime() - start;
    if report(&[done, took, failed]) != 0 || done == 0 {
        return FAILED | 12;
    }
    0
}

fn slow(ring: &mut Switchless) -> usize {
    ring.set_bounds(10_000, 100);
    let t0 = rdtime();
    let r = ring.call(SLEEP_US, &2_000_000u64.to_le_bytes(), &mut []);
    let elapsed = rdtime() - t0;
    let waits = ring.stats().host_waits;
    if r != Ok(Path::Switchless(0)) || waits == 0 {
        return FAILED | 13;
    }
    let mut answer = [0u8; 8];
    let next = match ring.call(INC, &1u64.to_le_bytes(), &mut answer) {
        Ok(Path::Switchless(_)) if u64::from_le_bytes(answer) == 2 => 1,
        Ok(Path::Ordinary) if u64::from_le_bytes(answer) == 2 => 2,
        _ => return FAILED | 14,
    };
    if report(&[elapsed, waits, next]) != 0 {
        return FAILED | 15;
    }
    0
}

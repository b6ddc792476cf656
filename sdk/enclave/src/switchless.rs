//! Switchless ocalls: requests placed in a ring in the UTM and served by
//! host threads on other harts, with no world switch (the layout and the
//! protocol are in [`keystone_abi::switchless`]).
//!
//! ```no_run
//! use keystone_enclave::switchless::{Path, Switchless};
//! let mut ring = Switchless::attach().expect("UTM too small for the ring");
//! let mut answer = [0u8; 8];
//! match ring.call(9, &41u64.to_le_bytes(), &mut answer) {
//!     Ok(Path::Switchless(len)) => { /* a host worker answered `len` bytes */ }
//!     Ok(Path::Ordinary) => { /* no worker: it went as an ordinary ocall */ }
//!     Err(e) => { /* the host failed the call or broke the protocol */ }
//! }
//! ```
//!
//! The host is untrusted. Every address here comes from this side's own slot
//! index; every length the host writes is checked against the slot's
//! payload; the answer must echo the request's sequence number. A request
//! no worker has taken within the claim bound is withdrawn (a CAS that wins
//! or loses against the workers' claim) and goes as an ordinary ocall. A
//! request a worker has taken is never reported failed for being slow (the
//! host may be carrying it out): past the spin bound the eapp stops
//! spinning and asks the host's run loop to wait for it
//! ([`keystone_abi::switchless::WAIT_OCALL`]), as often as it takes.

use crate::syscall::{syscall, Error};
use core::sync::atomic::{AtomicU64, Ordering};
use keystone_abi::edge::status;
use keystone_abi::eyrie::syscall::MAP_RING;
use keystone_abi::switchless::{
    await_answer, header, slot, slot_offset, Awaited, Bounds, Slot, MAGIC, PAYLOAD_BYTES,
    PAYLOAD_OFFSET, RING_BYTES, SLOTS, SLOT_BYTES, WAIT_OCALL,
};

/// How a successful call went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// A host worker answered through the ring with this many bytes (the
    /// first `min(len, response.len())` of them were copied).
    Switchless(usize),
    /// It went as an ordinary ocall (no worker, no free slot, too large, or
    /// no worker took it in time: withdrawn before any did).
    Ordinary,
}

/// Why a call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallError {
    /// The host answered with this edge status (not OK).
    Status(u64),
    /// The host broke the protocol: an unknown slot state, an answer to
    /// another request, or a length past the slot.
    Protocol,
    /// The ordinary ocall (fallback) failed.
    Ocall(Error),
}

/// Why [`Switchless::post`] could not place a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostError {
    /// The host says no worker runs.
    NoWorkers,
    /// Every usable slot holds a request.
    Full,
    /// The request is larger than a slot's payload.
    TooLarge,
}

/// A request in the ring, to [`Switchless::wait`] for.
#[derive(Debug, PartialEq, Eq)]
pub struct Ticket {
    slot: usize,
    seq: u64,
}

/// Counters of what happened, for diagnostics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub switchless: u64,
    pub ordinary: u64,
    /// Requests a worker never took, taken back (then sent the ordinary way).
    pub unclaimed: u64,
    /// Calls a worker held past the spin bound, answered after asking the
    /// host's run loop to wait for them.
    pub waited: u64,
    /// WAIT_OCALLs sent (one call may need several).
    pub host_waits: u64,
    pub protocol_errors: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    Free,
    Busy(u64),
}

/// `time` CSR ticks per millisecond (10 MHz).
const TICKS_PER_MS: u64 = keystone_abi::eyrie::TIMEBASE_HZ / 1000;

/// This enclave's end of the ring.
pub struct Switchless {
    base: usize,
    slots: [Use; SLOTS],
    next: usize,
    seq: u64,
    bounds: Bounds,
    stats: Stats,
}

#[cfg(target_arch = "riscv64")]
fn rdtime() -> u64 {
    let t: u64;
    // SAFETY: reads the time CSR (the runtime lets U-mode read it).
    unsafe { core::arch::asm!("rdtime {0}", out(reg) t) };
    t
}

/// This hart's `instret` (the runtime lets U-mode read it).
#[cfg(target_arch = "riscv64")]
pub fn rdinstret() -> u64 {
    let t: u64;
    // SAFETY: reads the instret CSR; no side effect.
    unsafe { core::arch::asm!("rdinstret {0}", out(reg) t) };
    t
}

/// Off RISC-V (unit tests): a clock that advances one tick per read.
#[cfg(not(target_arch = "riscv64"))]
fn rdtime() -> u64 {
    static TICKS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);
    TICKS.fetch_add(1, Ordering::Relaxed)
}

/// Off RISC-V (unit tests): no instruction count.
#[cfg(not(target_arch = "riscv64"))]
pub fn rdinstret() -> u64 {
    0
}

impl Switchless {
    /// Asks the runtime to map the ring (the last [`RING_BYTES`] of the UTM)
    /// and writes its header. Fails when the UTM is too small (it needs a
    /// page besides the ring) or the ring is mapped already.
    pub fn attach() -> Result<Switchless, Error> {
        // SAFETY: MAP_RING names no eapp memory; it maps new pages at an
        // address no Rust object uses (RING_VA, outside heap, stack, mmap).
        let r = unsafe { syscall(MAP_RING, [RING_BYTES, 0, 0, 0, 0, 0]) };
        if (r as isize) < 0 || r % 4096 != 0 {
            return Err(Error(r));
        }
        Ok(Switchless::at(r))
    }

    /// This side of the ring mapped at `base` (RING_BYTES, read-write, for
    /// the rest of the program), its header written.
    fn at(base: usize) -> Switchless {
        let ring = Switchless {
            base,
            slots: [Use::Free; SLOTS],
            next: 0,
            seq: 0,
            bounds: Bounds { claim: 10 * TICKS_PER_MS, spin: 2 * TICKS_PER_MS },
            stats: Stats::default(),
        };
        ring.word(header::SLOTS).store(SLOTS as u64, Ordering::Relaxed);
        ring.word(header::SLOT_BYTES).store(SLOT_BYTES as u64, Ordering::Relaxed);
        ring.word(header::MAGIC).store(MAGIC, Ordering::Release);
        ring
    }

    /// How long (ms) a request may wait for a worker to take it before it is
    /// taken back and sent the ordinary way, and how long this side spins for
    /// the answer to a taken request before it asks the host's run loop to
    /// wait for it instead (it never gives up on a taken request).
    /// Defaults: 10 ms and 2 ms.
    pub fn set_bounds(&mut self, claim_ms: u64, spin_ms: u64) {
        self.bounds = Bounds {
            claim: claim_ms.saturating_mul(TICKS_PER_MS),
            spin: spin_ms.saturating_mul(TICKS_PER_MS),
        };
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The ring word at byte `offset` (< RING_BYTES, 8-aligned: every caller
    /// passes a constant field offset plus a slot offset below SLOTS).
    #[inline(always)]
    fn word(&self, offset: usize) -> &AtomicU64 {
        assert!(offset < RING_BYTES && offset.is_multiple_of(8), "outside the ring");
        // SAFETY: the runtime mapped RING_BYTES read-write at `base` (page
        // aligned) for the rest of the enclave's life and never unmaps it;
        // `offset` is inside and 8-aligned, and AtomicU64 has u64's layout.
        // The host shares the page and may write it at any time, which is
        // why it is reached only through atomics.
        unsafe { AtomicU64::from_ptr((self.base + offset) as *mut u64) }
    }

    fn field(&self, slot_index: usize, field: usize) -> &AtomicU64 {
        self.word(slot_offset(slot_index) + field)
    }

    /// Slot `slot_index`'s state, moved only by the protocol's moves.
    fn slot(&self, slot_index: usize) -> Slot<'_> {
        Slot::new(self.field(slot_index, slot::STATE))
    }

    /// Whether the host says a worker runs (a hint; lying costs a bounded wait).
    pub fn workers(&self) -> u64 {
        self.word(header::WORKERS).load(Ordering::Relaxed)
    }

    /// Places request `id` with `request` in a free slot for the workers.
    pub fn post(&mut self, id: u64, request: &[u8]) -> Result<Ticket, PostError> {
        if request.len() > PAYLOAD_BYTES {
            return Err(PostError::TooLarge);
        }
        if self.workers() == 0 {
            return Err(PostError::NoWorkers);
        }
        // The slot after the last one used is nearly always free.
        let i = match self.slots.get(self.next) {
            Some(Use::Free) => self.next,
            _ => self.find_free().ok_or(PostError::Full)?,
        };
        self.next = if i + 1 == SLOTS { 0 } else { i + 1 };
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let payload = slot_offset(i) + PAYLOAD_OFFSET;
        for (k, chunk) in request.chunks(8).enumerate() {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.word(payload + 8 * k).store(u64::from_le_bytes(w), Ordering::Relaxed);
        }
        self.field(i, slot::SEQ).store(seq, Ordering::Relaxed);
        self.field(i, slot::ID).store(id, Ordering::Relaxed);
        self.field(i, slot::ARG_LEN).store(request.len() as u64, Ordering::Relaxed);
        // A worker that claims it sees the request.
        self.slot(i).post();
        self.slots[i] = Use::Busy(seq);
        Ok(Ticket { slot: i, seq })
    }

    #[cold]
    #[inline(never)]
    fn find_free(&self) -> Option<usize> {
        (0..SLOTS).map(|k| (self.next + k) % SLOTS).find(|&i| self.slots[i] == Use::Free)
    }

    /// Whether the answer to `t` is in (or the host did something that ends
    /// the wait): one look, no waiting.
    pub fn ready(&self, t: &Ticket) -> bool {
        !self.slot(t.slot).pending()
    }

    /// Waits for the answer to `t` and copies it into `response`.
    /// `Err(None)`: no worker took it within the claim bound and it was
    /// withdrawn (send it another way); `Err(Some(e))`: the host answered
    /// with a failure or broke the protocol. Once a worker has taken the
    /// request this returns only with its answer (see the module doc).
    pub fn wait(&mut self, t: Ticket, response: &mut [u8]) -> Result<usize, Option<CallError>> {
        let mut args = [0u8; 16];
        args[..8].copy_from_slice(&(t.slot as u64).to_le_bytes());
        args[8..].copy_from_slice(&t.seq.to_le_bytes());
        // The answer is read from the slot, whatever this ocall says: a
        // failed or refused WAIT only means asking again.
        let ask_host = || {
            let _ = crate::ocall(WAIT_OCALL, &args, &mut []);
        };
        let (how, asked) = await_answer(self.slot(t.slot), self.bounds, rdtime, ask_host);
        self.stats.host_waits += asked;
        match how {
            Awaited::Done => {
                if asked > 0 {
                    self.stats.waited += 1;
                }
                self.complete(t, response).map_err(Some)
            }
            Awaited::Withdrawn => {
                self.slots[t.slot] = Use::Free;
                self.stats.unclaimed += 1;
                Err(None)
            }
            Awaited::Broken(_) => Err(Some(self.broken(t))),
        }
    }

    /// The host left slot `t` in a state it may not: the slot is reset and
    /// the call fails.
    fn broken(&mut self, t: Ticket) -> CallError {
        self.slot(t.slot).release();
        self.slots[t.slot] = Use::Free;
        self.stats.protocol_errors += 1;
        CallError::Protocol
    }

    /// Reads the answer of a DONE slot: checks its sequence number, status
    /// and length, copies it, frees the slot.
    fn complete(&mut self, t: Ticket, response: &mut [u8]) -> Result<usize, CallError> {
        if self.slots[t.slot] != Use::Busy(t.seq)
            || self.field(t.slot, slot::RET_SEQ).load(Ordering::Relaxed) != t.seq
        {
            return Err(self.broken(t));
        }
        let st = self.field(t.slot, slot::STATUS).load(Ordering::Relaxed);
        let len = self.field(t.slot, slot::RET_LEN).load(Ordering::Relaxed);
        if len > PAYLOAD_BYTES as u64 {
            return Err(self.broken(t));
        }
        let len = len as usize;
        let payload = slot_offset(t.slot) + PAYLOAD_OFFSET;
        let n = len.min(response.len());
        for (k, chunk) in response[..n].chunks_mut(8).enumerate() {
            let w = self.word(payload + 8 * k).load(Ordering::Relaxed).to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
        // Our reads of the answer happen before the slot is reused.
        self.slot(t.slot).release();
        self.slots[t.slot] = Use::Free;
        if st != status::OK {
            return Err(CallError::Status(st));
        }
        self.stats.switchless += 1;
        Ok(len)
    }

    /// Calls host function `id` through the ring when a worker runs and the
    /// request fits, else (or when no worker takes it in time) as an
    /// ordinary ocall. Never fails because the host is slow.
    pub fn call(
        &mut self,
        id: u64,
        request: &[u8],
        response: &mut [u8],
    ) -> Result<Path, CallError> {
        match self.post(id, request) {
            Ok(t) => match self.wait(t, response) {
                Ok(len) => return Ok(Path::Switchless(len)),
                Err(Some(e)) => return Err(e),
                Err(None) => {}
            },
            Err(PostError::NoWorkers | PostError::Full | PostError::TooLarge) => {}
        }
        crate::ocall(id, request, response).map_err(CallError::Ocall)?;
        self.stats.ordinary += 1;
        Ok(Path::Ordinary)
    }
}

/// The eapp's side against a ring in this process's memory, with the test
/// playing the host: what it writes into the ring, and what it does with
/// every answer a host may give, honest or not.
#[cfg(test)]
mod tests {
    use super::*;
    use keystone_abi::switchless::state;
    use std::vec::Vec;

    /// The host's view of a ring in this process's memory.
    struct Host(Vec<AtomicU64>);

    /// A ring with `workers` workers announced, and the eapp's end of it.
    fn ring(workers: u64) -> (Host, Switchless) {
        let host = Host((0..RING_BYTES / 8).map(|_| AtomicU64::new(0)).collect());
        host.0[header::WORKERS / 8].store(workers, Ordering::Relaxed);
        // The Vec's buffer stays put when `host` moves; it outlives the test.
        let eapp = Switchless::at(host.0.as_ptr() as usize);
        (host, eapp)
    }

    impl Host {
        fn get(&self, i: usize, field: usize) -> u64 {
            self.0[(slot_offset(i) + field) / 8].load(Ordering::Relaxed)
        }

        fn set(&self, i: usize, field: usize, v: u64) {
            self.0[(slot_offset(i) + field) / 8].store(v, Ordering::Relaxed)
        }

        fn payload(&self, i: usize, len: usize) -> Vec<u8> {
            let words = (0..len.div_ceil(8)).map(|k| self.get(i, PAYLOAD_OFFSET + 8 * k));
            let mut bytes: Vec<u8> = words.flat_map(u64::to_le_bytes).collect();
            bytes.truncate(len);
            bytes
        }

        /// A worker's answer to slot `i`: claimed, then `answer` with
        /// `status`, `ret_seq` and `ret_len` as given, then DONE.
        fn answer(&self, i: usize, status: u64, ret_seq: u64, ret_len: u64, answer: &[u8]) {
            let slot = Slot::new(&self.0[(slot_offset(i) + slot::STATE) / 8]);
            assert!(slot.claim(), "slot {i} was not posted");
            for (k, c) in answer.chunks(8).enumerate() {
                let mut w = [0u8; 8];
                w[..c.len()].copy_from_slice(c);
                self.set(i, PAYLOAD_OFFSET + 8 * k, u64::from_le_bytes(w));
            }
            self.set(i, slot::STATUS, status);
            self.set(i, slot::RET_LEN, ret_len);
            self.set(i, slot::RET_SEQ, ret_seq);
            slot.finish();
        }
    }

    #[test]
    fn attaching_writes_the_header() {
        let (host, _eapp) = ring(1);
        assert_eq!(host.0[header::MAGIC / 8].load(Ordering::Relaxed), MAGIC);
        assert_eq!(host.0[header::SLOTS / 8].load(Ordering::Relaxed), SLOTS as u64);
        assert_eq!(host.0[header::SLOT_BYTES / 8].load(Ordering::Relaxed), SLOT_BYTES as u64);
    }

    #[test]
    fn a_request_is_written_into_a_free_slot_then_posted() {
        let (host, mut eapp) = ring(1);
        let t = eapp.post(9, b"hello, ring").unwrap();
        assert_eq!(t, Ticket { slot: 0, seq: 1 });
        assert_eq!(host.get(0, slot::STATE), state::POSTED);
        assert_eq!((host.get(0, slot::SEQ), host.get(0, slot::ID)), (1, 9));
        assert_eq!(host.get(0, slot::ARG_LEN), 11);
        assert_eq!(host.payload(0, 11), b"hello, ring");
        assert!(!eapp.ready(&t));
        let t2 = eapp.post(4, &[]).unwrap();
        assert_eq!(t2, Ticket { slot: 1, seq: 2 }, "the next slot, the next number");
    }

    #[test]
    fn a_request_the_ring_cannot_take_is_refused_before_it_is_written() {
        let (host, mut eapp) = ring(1);
        assert_eq!(eapp.post(1, &[0; PAYLOAD_BYTES + 1]), Err(PostError::TooLarge));
        assert!(eapp.post(1, &[0; PAYLOAD_BYTES]).is_ok(), "a full payload fits");
        for _ in 1..SLOTS {
            eapp.post(1, &[]).unwrap();
        }
        assert_eq!(eapp.post(1, &[]), Err(PostError::Full));
        let (_, mut idle) = ring(0);
        assert_eq!(idle.post(1, &[]), Err(PostError::NoWorkers));
        assert_eq!(host.get(SLOTS - 1, slot::STATE), state::POSTED);
    }

    #[test]
    fn an_answer_is_copied_out_and_frees_its_slot() {
        let (host, mut eapp) = ring(1);
        let t = eapp.post(9, b"ping").unwrap();
        host.answer(0, status::OK, 1, 5, b"pong!");
        assert!(eapp.ready(&t));
        let mut got = [0u8; 8];
        assert_eq!(eapp.wait(t, &mut got), Ok(5));
        assert_eq!(&got[..5], b"pong!");
        assert_eq!(host.get(0, slot::STATE), state::FREE);
        assert_eq!(eapp.stats().switchless, 1);
        // Cut to the caller's buffer, the full length reported.
        let t = eapp.post(9, b"ping").unwrap();
        host.answer(t.slot, status::OK, t.seq, 5, b"pong!");
        let mut short = [0u8; 2];
        assert_eq!(eapp.wait(t, &mut short), Ok(5));
        assert_eq!(&short, b"po");
    }

    #[test]
    fn a_failed_call_reports_the_hosts_status_and_frees_its_slot() {
        let (host, mut eapp) = ring(1);
        let t = eapp.post(9, b"x").unwrap();
        host.answer(0, status::BAD_CALL_ID, 1, 0, &[]);
        assert_eq!(eapp.wait(t, &mut []), Err(Some(CallError::Status(status::BAD_CALL_ID))));
        assert_eq!(host.get(0, slot::STATE), state::FREE);
        assert_eq!(eapp.stats().protocol_errors, 0);
    }

    #[test]
    fn an_answer_to_another_request_is_a_protocol_error() {
        let (host, mut eapp) = ring(1);
        let t = eapp.post(9, b"x").unwrap();
        host.answer(0, status::OK, 7, 1, b"y");
        let mut got = [0u8; 1];
        assert_eq!(eapp.wait(t, &mut got), Err(Some(CallError::Protocol)));
        assert_eq!(got, [0], "nothing copied");
        assert_eq!(host.get(0, slot::STATE), state::FREE);
        assert_eq!(eapp.stats().protocol_errors, 1);
    }

    #[test]
    fn an_answer_longer_than_a_slot_is_a_protocol_error() {
        let (host, mut eapp) = ring(1);
        let t = eapp.post(9, b"x").unwrap();
        host.answer(0, status::OK, 1, PAYLOAD_BYTES as u64 + 1, &[]);
        assert_eq!(eapp.wait(t, &mut [0; 8]), Err(Some(CallError::Protocol)));
        assert_eq!(host.get(0, slot::STATE), state::FREE);
    }

    #[test]
    fn a_state_the_protocol_does_not_have_is_a_protocol_error() {
        let (host, mut eapp) = ring(1);
        let t = eapp.post(9, b"x").unwrap();
        host.set(0, slot::STATE, 0xdead);
        assert_eq!(eapp.wait(t, &mut []), Err(Some(CallError::Protocol)));
        assert_eq!(host.get(0, slot::STATE), state::FREE, "taken back");
        assert_eq!(eapp.post(9, b"x").map(|t| t.slot), Ok(1), "and used again in turn");
    }

    #[test]
    fn a_request_no_worker_takes_is_withdrawn_and_never_served() {
        let (host, mut eapp) = ring(1);
        eapp.set_bounds(0, 0);
        let t = eapp.post(9, b"x").unwrap();
        assert_eq!(eapp.wait(t, &mut []), Err(None));
        assert_eq!(host.get(0, slot::STATE), state::FREE);
        assert!(!Slot::new(&host.0[(slot_offset(0) + slot::STATE) / 8]).claim());
        assert_eq!(eapp.stats().unclaimed, 1);
    }
}

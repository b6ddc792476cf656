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

fn rdtime() -> u64 {
    let t: u64;
    // SAFETY: reads the time CSR (the runtime lets U-mode read it).
    unsafe { core::arch::asm!("rdtime {0}", out(reg) t) };
    t
}

/// This hart's `instret` (the runtime lets U-mode read it).
pub fn rdinstret() -> u64 {
    let t: u64;
    // SAFETY: reads the instret CSR; no side effect.
    unsafe { core::arch::asm!("rdinstret {0}", out(reg) t) };
    t
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
        let ring = Switchless {
            base: r,
            slots: [Use::Free; SLOTS],
            next: 0,
            seq: 0,
            bounds: Bounds { claim: 10 * TICKS_PER_MS, spin: 2 * TICKS_PER_MS },
            stats: Stats::default(),
        };
        ring.word(header::SLOTS).store(SLOTS as u64, Ordering::Relaxed);
        ring.word(header::SLOT_BYTES).store(SLOT_BYTES as u64, Ordering::Relaxed);
        ring.word(header::MAGIC).store(MAGIC, Ordering::Release);
        Ok(ring)
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

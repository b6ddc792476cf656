//! Switchless ocalls (ours; Keystone has none): a ring of request slots in
//! the UTM that an eapp fills and host threads on other harts serve, with
//! no world switch and no SM on the path.
//!
//! The ring is the last [`RING_BYTES`] of the UTM. The eapp asks the runtime
//! to map it into its own address space ([`crate::eyrie::syscall::MAP_RING`]);
//! from then on the runtime's ordinary edge calls use only the UTM before it,
//! so the two never overlap. All fields are little-endian `u64`s, each
//! reached with one aligned atomic access (RISC-V `ld`/`sd`/`amo*` with the
//! fences of the stated ordering), so both sides may touch them at any time.
//!
//! ```text
//! offset 0          header (one slot's room): MAGIC, SLOTS, SLOT_BYTES,
//!                   WORKERS (the host's count of running workers, a hint)
//! offset SLOT_BYTES slot 0 ... slot SLOTS-1, each SLOT_BYTES:
//!   +0 state   FREE -> POSTED (eapp, release) -> CLAIMED (a worker's CAS)
//!              -> DONE (worker, release) -> FREE (eapp); or POSTED -> FREE
//!              (the eapp's CAS: withdrawn before any worker took it)
//!   +8 seq     the eapp's number for this request; the worker echoes it in ret_seq
//!   +16 id     ocall id (the same table as ordinary ocalls)
//!   +24 arg_len  request bytes at +PAYLOAD_OFFSET (<= PAYLOAD_BYTES)
//!   +32 status   edge status of the answer (crate::edge::status)
//!   +40 ret_len  answer bytes at +PAYLOAD_OFFSET (<= PAYLOAD_BYTES)
//!   +48 ret_seq  = seq of the request answered
//!   +64 payload  request, then the answer in its place
//! ```
//!
//! Everything the host writes is untrusted: the eapp derives every address
//! from its own slot index, checks every length against [`PAYLOAD_BYTES`]
//! and every `ret_seq` against the request's.
//!
//! Time never fails a call. A request still POSTED may be withdrawn by the
//! eapp, but only by winning the race with the workers' claim (CAS POSTED ->
//! FREE); it then goes as an ordinary ocall, and no worker ever sees it.
//! Once a worker has CLAIMED it, the host may be carrying it out, so the
//! eapp waits for the answer however long it takes: it spins a little, then
//! sends the ordinary ocall [`WAIT_OCALL`] (slot, seq), which the host's run
//! loop answers when that slot has left CLAIMED (or after a bounded wait of
//! its own; the eapp then asks again). The enclave's hart is the host's in
//! the meantime. A host that never answers stalls the enclave (as it can by
//! not running it) but never makes it believe a call failed that the host
//! then performs. [`await_answer`] is the eapp's side of this wait.

use core::sync::atomic::{AtomicU64, Ordering};

/// Bytes of the ring (one page, at the end of the UTM).
pub const RING_BYTES: usize = 4096;
/// Bytes per slot (and of the header).
pub const SLOT_BYTES: usize = 256;
/// Request slots (the header takes the first slot's room).
pub const SLOTS: usize = RING_BYTES / SLOT_BYTES - 1;
/// Where a slot's payload starts.
pub const PAYLOAD_OFFSET: usize = 64;
/// Largest request or answer a slot carries; larger calls go the ordinary way.
pub const PAYLOAD_BYTES: usize = SLOT_BYTES - PAYLOAD_OFFSET;
/// "KSSWLES1": the eapp writes it at offset 0 when it maps the ring.
pub const MAGIC: u64 = u64::from_le_bytes(*b"KSSWLES1");

/// Header fields (byte offsets in the ring).
pub mod header {
    pub const MAGIC: usize = 0;
    pub const SLOTS: usize = 8;
    pub const SLOT_BYTES: usize = 16;
    /// How many host workers are serving the ring (0: none; take the
    /// ordinary path). A hint only: a lying host costs a bounded wait.
    pub const WORKERS: usize = 24;
}

/// Slot fields (byte offsets from the slot's start).
pub mod slot {
    pub const STATE: usize = 0;
    pub const SEQ: usize = 8;
    pub const ID: usize = 16;
    pub const ARG_LEN: usize = 24;
    pub const STATUS: usize = 32;
    pub const RET_LEN: usize = 40;
    pub const RET_SEQ: usize = 48;
}

/// Slot states.
pub mod state {
    pub const FREE: u64 = 0;
    pub const POSTED: u64 = 1;
    pub const CLAIMED: u64 = 2;
    pub const DONE: u64 = 3;
}

/// Byte offset of slot `i` (< [`SLOTS`]) in the ring.
pub const fn slot_offset(i: usize) -> usize {
    SLOT_BYTES * (i + 1)
}

/// A slot's state, as read from its STATE word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The eapp's: no request in it.
    Free,
    /// A request for the workers; the eapp may still withdraw it.
    Posted,
    /// A worker's: being carried out.
    Claimed,
    /// The eapp's: answered, the answer in the slot.
    Done,
}

impl State {
    /// The word that stands for this state in the ring ([`state`]).
    pub const fn word(self) -> u64 {
        match self {
            State::Free => state::FREE,
            State::Posted => state::POSTED,
            State::Claimed => state::CLAIMED,
            State::Done => state::DONE,
        }
    }

    /// The state `word` stands for, or the word itself when the protocol
    /// has no such state (a host or eapp that scribbled on the ring).
    pub const fn from_word(word: u64) -> Result<State, u64> {
        match word {
            state::FREE => Ok(State::Free),
            state::POSTED => Ok(State::Posted),
            state::CLAIMED => Ok(State::Claimed),
            state::DONE => Ok(State::Done),
            other => Err(other),
        }
    }
}

/// Which end of the ring makes a move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Eapp,
    Host,
}

/// The protocol's moves, each a method of [`Slot`]; nothing else changes a
/// slot's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// [`Slot::post`]: FREE -> POSTED, by the eapp.
    Post,
    /// [`Slot::claim`]: POSTED -> CLAIMED, by a worker (races `Withdraw`).
    Claim,
    /// [`Slot::finish`]: CLAIMED -> DONE, by the worker that claimed it.
    Finish,
    /// [`Slot::withdraw`]: POSTED -> FREE, by the eapp (races `Claim`).
    Withdraw,
    /// [`Slot::release`]: DONE -> FREE, by the eapp.
    Release,
}

impl Move {
    /// Every move.
    pub const ALL: [Move; 5] =
        [Move::Post, Move::Claim, Move::Finish, Move::Withdraw, Move::Release];

    /// (from, to, by whom).
    pub const fn transition(self) -> (State, State, Side) {
        match self {
            Move::Post => (State::Free, State::Posted, Side::Eapp),
            Move::Claim => (State::Posted, State::Claimed, Side::Host),
            Move::Finish => (State::Claimed, State::Done, Side::Host),
            Move::Withdraw => (State::Posted, State::Free, Side::Eapp),
            Move::Release => (State::Done, State::Free, Side::Eapp),
        }
    }

    /// Whether two sides may try it on the same state at once: then it is
    /// a compare-and-swap and it may fail. The other moves are made by the
    /// side that owns the slot in their `from` state and are plain stores.
    pub const fn races(self) -> bool {
        matches!(self, Move::Claim | Move::Withdraw)
    }
}

/// One slot's STATE word, moved only through the protocol's [`Move`]s.
///
/// Each state has one owner: FREE and DONE the eapp's, CLAIMED the worker's
/// that claimed it, POSTED contested (the workers' claim and the eapp's
/// withdrawal race; a CAS lets exactly one win). An owner's move is a plain
/// store and trusts the owner's own record of the state (the other side may
/// have scribbled on the word; the owner's store wins). The orderings carry
/// the payload: the request is visible to the worker that claims it, the
/// answer to the eapp that sees DONE, and the eapp's reads of the answer
/// happen before the slot is reused.
#[derive(Debug, Clone, Copy)]
pub struct Slot<'a>(&'a AtomicU64);

impl<'a> Slot<'a> {
    /// The slot whose STATE word is `state` (in the ring: [`slot_offset`] +
    /// [`slot::STATE`]).
    pub const fn new(state: &'a AtomicU64) -> Slot<'a> {
        Slot(state)
    }

    /// The state, with acquire ordering: once DONE is seen, so is the answer.
    #[inline]
    pub fn load(&self) -> Result<State, u64> {
        State::from_word(self.0.load(Ordering::Acquire))
    }

    /// The state, with no ordering: for polling, never before reading the
    /// payload.
    #[inline]
    pub fn peek(&self) -> Result<State, u64> {
        State::from_word(self.0.load(Ordering::Relaxed))
    }

    /// Whether a worker may still answer (POSTED or CLAIMED): one relaxed look.
    #[inline]
    pub fn pending(&self) -> bool {
        matches!(self.peek(), Ok(State::Posted | State::Claimed))
    }

    /// Eapp: FREE -> POSTED, once the request is written. Release: the
    /// worker that claims it sees the request.
    #[inline]
    pub fn post(&self) {
        self.0.store(state::POSTED, Ordering::Release);
    }

    /// Worker: POSTED -> CLAIMED. Acquire: the request is visible from here
    /// on. False when it was not POSTED, or another worker or the eapp's
    /// withdrawal won the race (one relaxed look first spares the CAS on a
    /// slot with nothing to take).
    #[inline]
    pub fn claim(&self) -> bool {
        self.0.load(Ordering::Relaxed) == state::POSTED
            && self
                .0
                .compare_exchange(
                    state::POSTED,
                    state::CLAIMED,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                )
                .is_ok()
    }

    /// Worker: CLAIMED -> DONE, once the answer is written. Release: the
    /// eapp that sees DONE sees the answer.
    #[inline]
    pub fn finish(&self) {
        self.0.store(state::DONE, Ordering::Release);
    }

    /// Eapp: POSTED -> FREE, a request no worker has taken yet. True when
    /// the eapp won: then no worker ever will take it. False when a worker
    /// claimed it first (or the word is not POSTED).
    #[inline]
    pub fn withdraw(&self) -> bool {
        self.0
            .compare_exchange(state::POSTED, state::FREE, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Eapp: DONE -> FREE, once the answer is read (or to take back a slot
    /// the host left in a state the protocol does not have). Release: the
    /// reads of the answer happen before the slot is reused.
    #[inline]
    pub fn release(&self) {
        self.0.store(state::FREE, Ordering::Release);
    }
}

/// Ordinary ocall id the eapp sends when a worker holds its request past the
/// eapp's spin bound: the request is two u64 LE (slot index, seq), the
/// answer empty. The host's run loop waits (bounded) for that slot to leave
/// CLAIMED, then answers; the eapp reads the answer from the slot, never
/// from this call. "KSSWWAIT", far from the small ids hosts choose.
pub const WAIT_OCALL: u64 = u64::from_le_bytes(*b"KSSWWAIT");

/// How an eapp's wait for a posted request ended ([`await_answer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Awaited {
    /// The slot is DONE: the answer is in it (still to be checked).
    Done,
    /// No worker had taken it: withdrawn (the slot is FREE and no worker
    /// will ever serve it); send it another way.
    Withdrawn,
    /// The host left a state the protocol does not have.
    Broken(u64),
}

/// The eapp's bounds, in ticks of its clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// A request no worker has taken after this long is withdrawn.
    pub claim: u64,
    /// A taken request not answered after this long is waited for through
    /// the host's run loop ([`WAIT_OCALL`]) instead of by spinning.
    pub spin: u64,
}

/// Waits for the answer to the request in `slot`: spins while it is POSTED
/// (withdrawing it once `bounds.claim` has passed, if no worker took it
/// first: [`Slot::withdraw`]) or CLAIMED (calling `ask_host` once `bounds.spin` has passed, and again each
/// time it returns with the slot still CLAIMED). Never gives up on a claimed
/// request: the host may be carrying it out. `now` reads the clock; returns
/// how the wait ended and how many times it called `ask_host`.
pub fn await_answer(
    slot: Slot<'_>,
    bounds: Bounds,
    mut now: impl FnMut() -> u64,
    mut ask_host: impl FnMut(),
) -> (Awaited, u64) {
    let start = now();
    let mut asked = 0u64;
    let mut spins = 0u32;
    loop {
        // Acquire: the worker's answer is visible once DONE is.
        let s = match slot.load() {
            Ok(State::Done) => return (Awaited::Done, asked),
            Ok(s @ (State::Posted | State::Claimed)) => s,
            Ok(State::Free) => return (Awaited::Broken(state::FREE), asked),
            Err(other) => return (Awaited::Broken(other), asked),
        };
        spins = spins.wrapping_add(1);
        // The clock is read every 16 looks (and at once after an ask).
        if asked == 0 && !spins.is_multiple_of(16) {
            core::hint::spin_loop();
            continue;
        }
        let waited = now().wrapping_sub(start);
        if s == State::Posted && waited > bounds.claim {
            // Take it back if no worker has: then no worker ever will. If
            // the CAS loses, a worker took it and the loop waits for it.
            if slot.withdraw() {
                return (Awaited::Withdrawn, asked);
            }
        } else if s == State::Claimed && waited > bounds.spin {
            ask_host();
            asked += 1;
        }
        core::hint::spin_loop();
    }
}

const _: () = assert!(RING_BYTES.is_multiple_of(4096) && SLOT_BYTES.is_multiple_of(64));
const _: () = assert!(slot_offset(SLOTS - 1) + SLOT_BYTES == RING_BYTES);
const _: () = assert!(slot::RET_SEQ + 8 <= PAYLOAD_OFFSET && PAYLOAD_BYTES.is_multiple_of(8));

/// Ocall ids of the switchless examples and tests.
pub mod test_ocall {
    /// Answers the u64 LE it is sent plus one.
    pub const INC: u64 = 9;
    /// The switchless eapp asks what to do (ordinary ocall): a u64 mode.
    pub const MODE: u64 = 10;
    /// The switchless eapp reports its figures (ordinary ocall): u64s.
    pub const REPORT: u64 = 12;
    /// Sleeps for the u64 LE microseconds it is sent, then answers OK.
    pub const SLEEP_US: u64 = 13;
}

/// What the switchless example eapp does (the host's answer to MODE).
pub mod mode {
    /// INC calls; every answer checked; reports (switchless, fallback) counts.
    pub const CALLS: u64 = 1;
    /// Latency: ordinary vs switchless NOP calls, medians of time ticks and
    /// the eapp's own instret per switchless call.
    pub const LATENCY: u64 = 2;
    /// Throughput: NOP calls, up to SLOTS in flight, for a fixed time.
    pub const THROUGHPUT: u64 = 3;
    /// A host that scribbles on the ring: calls until told, counts errors.
    pub const HOSTILE: u64 = 4;
    /// One SLEEP_US call far longer than the eapp's spin bound: must be
    /// answered through the ring all the same, after asking the host to wait.
    pub const SLOW: u64 = 5;
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use core::cell::Cell;
    use std::sync::Arc;

    /// A clock that advances `step` ticks each time it is read.
    fn clock(step: u64) -> impl FnMut() -> u64 {
        let t = Cell::new(0u64);
        move || {
            t.set(t.get() + step);
            t.get()
        }
    }

    const B: Bounds = Bounds { claim: 1000, spin: 100 };

    #[test]
    fn a_done_slot_ends_the_wait_at_once() {
        let s = AtomicU64::new(state::DONE);
        assert_eq!(
            await_answer(Slot::new(&s), B, clock(1), || panic!("no ask")),
            (Awaited::Done, 0)
        );
    }

    #[test]
    fn an_unclaimed_request_is_withdrawn_after_the_claim_bound() {
        let s = AtomicU64::new(state::POSTED);
        let got = await_answer(Slot::new(&s), B, clock(10), || {
            panic!("a POSTED request is not asked for")
        });
        assert_eq!(got, (Awaited::Withdrawn, 0));
        assert_eq!(s.load(Ordering::Relaxed), state::FREE, "no worker can claim it now");
    }

    #[test]
    fn a_claimed_request_is_never_given_up_and_the_host_is_asked_until_it_answers() {
        let s = AtomicU64::new(state::CLAIMED);
        // The host's run loop returns 50 times with the worker still busy
        // (far past both bounds), then the worker answers.
        let mut asks = 0;
        let got = await_answer(Slot::new(&s), B, clock(1000), || {
            asks += 1;
            if asks == 51 {
                s.store(state::DONE, Ordering::Release);
            }
        });
        assert_eq!(got, (Awaited::Done, 51));
        assert_eq!(s.load(Ordering::Relaxed), state::DONE, "the eapp reads it next");
    }

    #[test]
    fn a_claimed_request_is_spun_for_before_the_host_is_asked() {
        let s = AtomicU64::new(state::CLAIMED);
        let (t, asked_at) = (Cell::new(0u64), Cell::new(0u64));
        let now = || {
            t.set(t.get() + 1);
            t.get()
        };
        let got = await_answer(Slot::new(&s), B, now, || {
            asked_at.set(t.get());
            s.store(state::DONE, Ordering::Release);
        });
        assert_eq!(got, (Awaited::Done, 1));
        assert!(asked_at.get() > B.spin, "asked at {}", asked_at.get());
    }

    #[test]
    fn a_state_the_protocol_does_not_have_breaks_the_wait() {
        for bad in [state::FREE, 4, 0xdead, u64::MAX] {
            let s = AtomicU64::new(bad);
            assert_eq!(await_answer(Slot::new(&s), B, clock(1), || {}), (Awaited::Broken(bad), 0));
        }
    }

    /// The eapp's withdrawal races a worker's claim: exactly one wins. A
    /// withdrawn request is never served; a claimed one is always answered,
    /// and the eapp that sees DONE sees the answer the worker wrote before.
    #[test]
    fn withdrawal_and_claim_race_and_exactly_one_wins() {
        let s = Arc::new(AtomicU64::new(state::FREE));
        let (request, answer) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let served = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let worker = {
            let (s, served, stop) = (s.clone(), served.clone(), stop.clone());
            let (request, answer) = (request.clone(), answer.clone());
            std::thread::spawn(move || {
                let slot = Slot::new(&s);
                while !stop.load(Ordering::Relaxed) {
                    if slot.claim() {
                        let r = request.load(Ordering::Relaxed);
                        answer.store(r + 1, Ordering::Relaxed);
                        served.fetch_add(1, Ordering::Relaxed);
                        slot.finish();
                    }
                }
            })
        };
        let slot = Slot::new(&s);
        let (mut done, mut withdrawn) = (0u64, 0u64);
        for k in 0..20_000u64 {
            request.store(k, Ordering::Relaxed);
            slot.post();
            // Claim bound 0: withdraw at the first look at the clock.
            match await_answer(slot, Bounds { claim: 0, spin: 0 }, clock(1), || {}) {
                (Awaited::Done, _) => {
                    assert_eq!(answer.load(Ordering::Relaxed), k + 1, "the answer to this request");
                    done += 1;
                }
                (Awaited::Withdrawn, _) => withdrawn += 1,
                other => panic!("{other:?}"),
            }
            slot.release();
        }
        stop.store(true, Ordering::Relaxed);
        worker.join().unwrap();
        assert_eq!(done + withdrawn, 20_000);
        assert_eq!(served.load(Ordering::Relaxed), done, "withdrawn requests were never served");
    }

    /// Every word a slot's STATE may hold: the four states and some the
    /// protocol does not have.
    const WORDS: [u64; 7] =
        [state::FREE, state::POSTED, state::CLAIMED, state::DONE, 4, 0xdead, u64::MAX];

    fn make(slot: Slot<'_>, m: Move) -> bool {
        match m {
            Move::Post => slot.post(),
            Move::Claim => return slot.claim(),
            Move::Finish => slot.finish(),
            Move::Withdraw => return slot.withdraw(),
            Move::Release => slot.release(),
        }
        true
    }

    #[test]
    fn each_state_has_one_word_and_other_words_are_no_state() {
        for s in [State::Free, State::Posted, State::Claimed, State::Done] {
            assert_eq!(State::from_word(s.word()), Ok(s));
        }
        for w in &WORDS[4..] {
            assert_eq!(State::from_word(*w), Err(*w));
        }
    }

    #[test]
    fn each_move_takes_its_from_state_to_its_to_state() {
        for m in Move::ALL {
            let (from, to, _) = m.transition();
            let w = AtomicU64::new(from.word());
            assert!(make(Slot::new(&w), m), "{m:?} from {from:?}");
            assert_eq!(Slot::new(&w).load(), Ok(to), "{m:?}");
        }
    }

    /// The racing moves are the only ones two sides may try on one state,
    /// so they alone check it: from any other word they fail and leave it.
    #[test]
    fn a_racing_move_from_any_other_word_fails_and_changes_nothing() {
        for m in Move::ALL.into_iter().filter(|m| m.races()) {
            let from = m.transition().0.word();
            for w0 in WORDS.into_iter().filter(|&w| w != from) {
                let w = AtomicU64::new(w0);
                assert!(!make(Slot::new(&w), m), "{m:?} from {w0:#x}");
                assert_eq!(w.load(Ordering::Relaxed), w0, "{m:?} from {w0:#x}");
            }
        }
    }

    /// Each state has one owner: the eapp moves FREE and DONE slots, the
    /// workers the CLAIMED ones, and POSTED is the one both may move (the
    /// race that a CAS settles).
    #[test]
    fn each_side_moves_only_the_states_it_owns_and_only_posted_is_contested() {
        use Side::{Eapp, Host};
        let movers = |s: State| {
            let mut by: std::vec::Vec<Side> = Move::ALL
                .iter()
                .map(|m| m.transition())
                .filter(|t| t.0 == s)
                .map(|t| t.2)
                .collect();
            by.dedup();
            by
        };
        assert_eq!(movers(State::Free), [Eapp]);
        assert_eq!(movers(State::Posted), [Host, Eapp]);
        assert_eq!(movers(State::Claimed), [Host]);
        assert_eq!(movers(State::Done), [Eapp]);
        for m in Move::ALL {
            assert_eq!(m.races(), m.transition().0 == State::Posted, "{m:?}");
        }
    }

    #[test]
    fn a_request_goes_free_posted_claimed_done_free() {
        let w = AtomicU64::new(state::FREE);
        let s = Slot::new(&w);
        assert!(!s.pending());
        s.post();
        assert!(s.pending());
        assert!(s.claim());
        assert!(s.pending());
        assert!(!s.claim(), "claimed once only");
        assert!(!s.withdraw(), "a claimed request cannot be taken back");
        s.finish();
        assert!(!s.pending());
        assert_eq!(s.load(), Ok(State::Done));
        s.release();
        assert_eq!(s.load(), Ok(State::Free));
    }

    #[test]
    fn a_withdrawn_request_is_never_claimed() {
        let w = AtomicU64::new(state::FREE);
        let s = Slot::new(&w);
        s.post();
        assert!(s.withdraw());
        assert!(!s.claim());
        assert_eq!(s.load(), Ok(State::Free));
    }
}

//! The host's side of switchless ocalls: worker threads that serve the
//! requests an eapp places in the ring at the end of the UTM (layout and
//! protocol in [`keystone_abi::switchless`]), with the same handler table as
//! ordinary ocalls, while the enclave keeps running on its own hart.
//!
//! A worker never waits for the enclave: it scans the slots, takes a POSTED
//! one with a compare-and-swap (so exactly one worker serves it), answers,
//! and marks it DONE. Idle, it spins for `idle_spin`, then polls with short
//! sleeps, so an enclave that makes no switchless calls costs little. The
//! eapp reads the header's worker count to decide between the ring and an
//! ordinary ocall; stopping the workers sets it to 0 first (each worker
//! finishes the call it holds).
//!
//! An eapp whose call a worker holds past its spin bound sends the ordinary
//! ocall [`WAIT_OCALL`]; the run loop answers it with [`Ring::serve_wait`]
//! once that slot has left CLAIMED, or after [`WAIT_BOUND`] (the eapp then
//! asks again: it never gives up on a call a worker holds).

use crate::sys::{pin_current_thread, SharedWords};
use crate::{Reply, SharedMem, Table};
use keystone_abi::edge::status;
pub use keystone_abi::switchless::WAIT_OCALL;
use keystone_abi::switchless::{
    header, slot, slot_offset, Slot, State, MAGIC, PAYLOAD_BYTES, PAYLOAD_OFFSET, RING_BYTES, SLOTS,
};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long an idle worker spins before it starts sleeping between polls.
pub const DEFAULT_IDLE_SPIN: Duration = Duration::from_millis(20);
/// The sleep between polls of an idle worker.
const IDLE_SLEEP: Duration = Duration::from_micros(100);
/// The longest the run loop waits for a slot on one WAIT_OCALL before it
/// lets the enclave run (and look, and ask) again.
pub const WAIT_BOUND: Duration = Duration::from_millis(100);
/// How long the run loop yields between looks at a slot before it sleeps.
const WAIT_YIELD: Duration = Duration::from_micros(200);
/// The run loop's sleep between looks at a slot after that.
const WAIT_SLEEP: Duration = Duration::from_micros(50);

/// Bytes of `utm` an ordinary edge call may use: all of it, or all but the
/// ring when the eapp has mapped it (its magic is where the ring starts).
pub fn edge_call_room<U: SharedMem + ?Sized>(utm: &U) -> usize {
    let len = utm.len();
    match len.checked_sub(RING_BYTES) {
        Some(at) if at >= 4096 && utm.read_u64(at) == MAGIC => at,
        _ => len,
    }
}

/// The ring, as this process maps it: word access for the workers, and for
/// tests that play a host that writes what it should not.
#[derive(Clone)]
pub struct Ring(pub(crate) Arc<SharedWords>);

impl Ring {
    /// The u64 at byte `offset` of the ring (8-aligned, inside; panics otherwise).
    pub fn load(&self, offset: usize) -> u64 {
        self.0.word(offset).load(Ordering::Acquire)
    }

    /// Stores `v` at byte `offset` of the ring (release).
    pub fn store(&self, offset: usize, v: u64) {
        self.0.word(offset).store(v, Ordering::Release)
    }

    /// Slot `i`'s state (< SLOTS; panics otherwise), moved only by the
    /// protocol's moves ([`Slot`]).
    pub fn slot(&self, i: usize) -> Slot<'_> {
        Slot::new(self.0.word(slot_offset(i) + slot::STATE))
    }

    /// Whether the eapp has mapped the ring (its magic is in the header).
    pub fn attached(&self) -> bool {
        self.load(header::MAGIC) == MAGIC
    }

    /// Waits until slot `i` (< SLOTS) holds no request a worker may still
    /// answer (neither POSTED nor CLAIMED), or `bound` has passed: returns
    /// whether it does.
    pub fn await_slot(&self, i: usize, bound: Duration) -> bool {
        let slot = self.slot(i);
        let t0 = Instant::now();
        loop {
            if !matches!(slot.load(), Ok(State::Posted | State::Claimed)) {
                return true;
            }
            let waited = t0.elapsed();
            if waited >= bound {
                return false;
            }
            if waited < WAIT_YIELD {
                std::thread::yield_now();
            } else {
                std::thread::sleep(WAIT_SLEEP);
            }
        }
    }

    /// The run loop's answer to a WAIT_OCALL with `args` (u64 LE slot, u64
    /// LE seq): none, once the slot is answered or after [`WAIT_BOUND`]
    /// (the eapp looks at the slot either way); BAD_OFFSET for no slot.
    pub fn serve_wait(&self, args: &[u8]) -> Reply {
        let slot = args.get(..8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
        match slot {
            Some(i) if i < SLOTS as u64 => {
                self.await_slot(i as usize, WAIT_BOUND);
                Reply::None
            }
            _ => Reply::Status(status::BAD_OFFSET),
        }
    }

    /// Serves slot `i` if it holds a request no other worker took: returns
    /// whether it did.
    fn serve(&self, i: usize, table: &Table) -> bool {
        let word = |field: usize| self.0.word(slot_offset(i) + field);
        let slot = self.slot(i);
        if !slot.claim() {
            return false;
        }
        let seq = word(slot::SEQ).load(Ordering::Relaxed);
        let id = word(slot::ID).load(Ordering::Relaxed);
        let arg_len = word(slot::ARG_LEN).load(Ordering::Relaxed);
        let payload = slot_offset(i) + PAYLOAD_OFFSET;
        let reply = if arg_len > PAYLOAD_BYTES as u64 {
            Reply::Status(status::BAD_OFFSET)
        } else {
            let mut args = Vec::with_capacity(arg_len as usize + 8);
            for k in 0..(arg_len as usize).div_ceil(8) {
                args.extend_from_slice(
                    &self.0.word(payload + 8 * k).load(Ordering::Relaxed).to_le_bytes(),
                );
            }
            args.truncate(arg_len as usize);
            table.dispatch(id, &args)
        };
        let (st_out, len) = match reply {
            Reply::None => (status::OK, 0),
            Reply::Status(s) => (s, 0),
            Reply::Raw { status, size, .. } => (status, size),
            Reply::Data(d) if d.len() <= PAYLOAD_BYTES => {
                for (k, chunk) in d.chunks(8).enumerate() {
                    let mut w = [0u8; 8];
                    w[..chunk.len()].copy_from_slice(chunk);
                    self.0.word(payload + 8 * k).store(u64::from_le_bytes(w), Ordering::Relaxed);
                }
                (status::OK, d.len() as u64)
            }
            // Too large for a slot, or an answer in the UTM's data area
            // (wrapped), which only an ordinary ocall has.
            Reply::Data(_) | Reply::Wrapped(_) => (status::ERROR, 0),
        };
        word(slot::STATUS).store(st_out, Ordering::Relaxed);
        word(slot::RET_LEN).store(len, Ordering::Relaxed);
        word(slot::RET_SEQ).store(seq, Ordering::Relaxed);
        // The eapp that sees DONE sees the answer.
        slot.finish();
        table.count_switchless();
        true
    }
}

/// Running workers; dropping them stops them (after the call each serves).
pub(crate) struct Workers {
    ring: Ring,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

/// How to run the workers.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Worker threads (0: none; the eapp's calls go as ordinary ocalls).
    pub workers: usize,
    /// CPU of each worker, in order (fewer than `workers`: the rest unpinned).
    pub cpus: Vec<usize>,
    /// Spin this long idle before sleeping between polls (default 20 ms).
    pub idle_spin: Option<Duration>,
}

impl Workers {
    pub(crate) fn start(ring: Ring, table: Arc<Table>, config: &Config) -> io::Result<Workers> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut w = Workers { ring: ring.clone(), stop: stop.clone(), threads: Vec::new() };
        let idle_spin = config.idle_spin.unwrap_or(DEFAULT_IDLE_SPIN);
        for n in 0..config.workers {
            let (ring, table, stop) = (ring.clone(), table.clone(), stop.clone());
            let cpu = config.cpus.get(n).copied();
            let t = std::thread::Builder::new().name(format!("ks-switchless-{n}")).spawn(
                move || {
                    if let Some(cpu) = cpu {
                        let _ = pin_current_thread(cpu);
                    }
                    work(&ring, &table, &stop, n, idle_spin)
                },
            )?;
            w.threads.push(t);
        }
        ring.store(header::WORKERS, config.workers as u64);
        Ok(w)
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.ring.store(header::WORKERS, 0);
        self.stop.store(true, Ordering::Release);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn work(ring: &Ring, table: &Table, stop: &AtomicBool, n: usize, idle_spin: Duration) {
    // Each worker starts its scan at a different slot, so several workers
    // do not all race for the same one first.
    let mut next = n % SLOTS;
    let mut idle_since: Option<Instant> = None;
    while !stop.load(Ordering::Acquire) {
        let mut served = false;
        for k in 0..SLOTS {
            let i = (next + k) % SLOTS;
            if ring.serve(i, table) {
                served = true;
                next = (i + 1) % SLOTS;
                break;
            }
        }
        if served {
            idle_since = None;
            continue;
        }
        let since = *idle_since.get_or_insert_with(Instant::now);
        if since.elapsed() < idle_spin {
            std::hint::spin_loop();
        } else {
            std::thread::sleep(IDLE_SLEEP);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::Mapping;
    use keystone_abi::edge::DATA_OFFSET;
    use keystone_abi::switchless::{await_answer, state, Awaited, Bounds};
    use std::fs::OpenOptions;
    use std::sync::atomic::AtomicU64;

    /// A ring in shared anonymous memory (a shared mapping of /dev/zero).
    fn ring() -> Ring {
        let zero = OpenOptions::new().read(true).write(true).open("/dev/zero").unwrap();
        Ring(Arc::new(SharedWords::new(Mapping::new(&zero, 0, RING_BYTES).unwrap())))
    }

    fn table() -> Arc<Table> {
        let mut o = crate::Ocalls::default();
        o.insert_shared(9, |a| {
            Reply::Data((u64::from_le_bytes(a[..8].try_into().unwrap()) + 1).to_le_bytes().into())
        });
        o.insert_shared(4, |_| Reply::Data(vec![1; PAYLOAD_BYTES + 1]));
        o.table
    }

    fn post(r: &Ring, i: usize, seq: u64, id: u64, arg: &[u8]) {
        let b = slot_offset(i);
        for (k, c) in arg.chunks(8).enumerate() {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            r.store(b + PAYLOAD_OFFSET + 8 * k, u64::from_le_bytes(w));
        }
        r.store(b + slot::SEQ, seq);
        r.store(b + slot::ID, id);
        r.store(b + slot::ARG_LEN, arg.len() as u64);
        r.slot(i).post();
    }

    /// (state, status, ret_len, ret_seq, first payload word)
    fn answer(r: &Ring, i: usize) -> (u64, u64, u64, u64, u64) {
        let b = slot_offset(i);
        (
            r.load(b + slot::STATE),
            r.load(b + slot::STATUS),
            r.load(b + slot::RET_LEN),
            r.load(b + slot::RET_SEQ),
            r.load(b + PAYLOAD_OFFSET),
        )
    }

    #[test]
    fn a_posted_request_is_served_once_and_answered_in_place() {
        let (r, t) = (ring(), table());
        post(&r, 3, 77, 9, &41u64.to_le_bytes());
        assert!(r.serve(3, &t));
        assert_eq!(answer(&r, 3), (state::DONE, status::OK, 8, 77, 42));
        assert!(!r.serve(3, &t), "DONE is not served again");
        assert_eq!(t.switchless.load(Ordering::Relaxed), 1);
        assert!(!r.serve(4, &t), "a FREE slot is not served");
    }

    #[test]
    fn bad_requests_get_an_edge_status() {
        let (r, t) = (ring(), table());
        post(&r, 0, 1, 9, &[]);
        r.store(slot_offset(0) + slot::ARG_LEN, PAYLOAD_BYTES as u64 + 1);
        assert!(r.serve(0, &t));
        assert_eq!(answer(&r, 0).1, status::BAD_OFFSET, "arguments past the slot");
        post(&r, 1, 2, 123, &[]);
        assert!(r.serve(1, &t));
        assert_eq!(answer(&r, 1).1, status::BAD_CALL_ID);
        assert_eq!(t.unknown.load(Ordering::Relaxed), 1);
        post(&r, 2, 3, 4, &[]);
        assert!(r.serve(2, &t));
        assert_eq!((answer(&r, 2).1, answer(&r, 2).2), (status::ERROR, 0), "answer too large");
    }

    #[test]
    fn workers_serve_every_slot_and_say_when_they_stop() {
        let r = ring();
        let t = table();
        let config = Config { workers: 2, cpus: vec![], idle_spin: None };
        let w = Workers::start(r.clone(), t.clone(), &config).unwrap();
        assert_eq!(r.load(header::WORKERS), 2);
        for i in 0..SLOTS {
            post(&r, i, 100 + i as u64, 9, &(i as u64).to_le_bytes());
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while (0..SLOTS).any(|i| answer(&r, i).0 != state::DONE) && Instant::now() < deadline {
            std::thread::yield_now();
        }
        for i in 0..SLOTS {
            assert_eq!(answer(&r, i), (state::DONE, status::OK, 8, 100 + i as u64, i as u64 + 1));
        }
        assert_eq!(t.switchless.load(Ordering::Relaxed), SLOTS as u64, "each served once");
        drop(w);
        assert_eq!(r.load(header::WORKERS), 0);
    }

    /// The eapp's side of a wait (keystone_abi's `await_answer`, as the
    /// enclave SDK runs it) against this process's clock, asking `ask`.
    fn eapp_wait(r: &Ring, i: usize, bounds: Bounds, ask: impl FnMut()) -> (Awaited, u64) {
        let t0 = Instant::now();
        let ticks = move || t0.elapsed().as_micros() as u64;
        await_answer(r.slot(i), bounds, ticks, ask)
    }

    /// Spin 1 ms, withdraw after 10 ms (in µs ticks).
    const BOUNDS: Bounds = Bounds { claim: 10_000, spin: 1_000 };

    fn wait_args(i: usize, seq: u64) -> Vec<u8> {
        [i as u64, seq].iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    #[test]
    fn a_slow_worker_is_waited_for_through_the_run_loop_and_answers_once() {
        let r = ring();
        let mut o = crate::Ocalls::default();
        let calls = Arc::new(AtomicU64::new(0));
        let c = calls.clone();
        // The worker takes the call, then sleeps far past the eapp's spin bound.
        o.insert_shared(9, move |a| {
            c.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(300));
            Reply::Data((u64::from_le_bytes(a[..8].try_into().unwrap()) + 1).to_le_bytes().into())
        });
        let config = Config { workers: 1, cpus: vec![], idle_spin: None };
        let w = Workers::start(r.clone(), o.table.clone(), &config).unwrap();
        post(&r, 5, 41, 9, &41u64.to_le_bytes());
        // The run loop serves the eapp's WAIT_OCALLs (through `serve`, as a
        // stop for an edge call would).
        o.ring = Some(r.clone());
        let mut asks = 0;
        let (how, asked) = eapp_wait(&r, 5, BOUNDS, || {
            let mut utm = vec![0u8; 8192];
            let args = wait_args(5, 41);
            utm.write_u64x3(0, [WAIT_OCALL, DATA_OFFSET as u64, args.len() as u64]);
            utm.write(DATA_OFFSET, &args);
            o.serve(&mut utm);
            assert_eq!(utm.read_u64(24), status::OK);
            asks += 1;
        });
        assert_eq!(how, Awaited::Done);
        assert!(asked >= 1 && asked == asks, "asked {asked}, served {asks}");
        assert_eq!(o.stats().switchless_waits, asks);
        assert_eq!(answer(&r, 5), (state::DONE, status::OK, 8, 41, 42));
        assert_eq!(calls.load(Ordering::Relaxed), 1, "carried out once");
        drop(w);
    }

    #[test]
    fn the_run_loops_wait_is_bounded_and_checks_the_slot() {
        let r = ring();
        r.slot(2).post();
        assert!(r.slot(2).claim(), "a worker holds it");
        let t0 = Instant::now();
        assert!(!r.await_slot(2, Duration::from_millis(20)), "nobody answers");
        assert!(t0.elapsed() >= Duration::from_millis(20));
        r.slot(2).finish();
        assert!(r.await_slot(2, Duration::from_secs(100)), "answered: returns at once");
        assert_eq!(r.serve_wait(&wait_args(2, 1)), Reply::None);
        assert_eq!(r.serve_wait(&wait_args(SLOTS, 1)), Reply::Status(status::BAD_OFFSET));
        assert_eq!(r.serve_wait(&[1, 2, 3]), Reply::Status(status::BAD_OFFSET));
        // Without a ring the id is an ordinary (unknown) call.
        let mut o = crate::Ocalls::default();
        assert_eq!(o.dispatch(WAIT_OCALL, &wait_args(2, 1)), Reply::Status(status::BAD_CALL_ID));
    }

    /// The eapp withdraws each request at its first look at the clock while
    /// two workers race to claim it: each request is either withdrawn and
    /// never carried out, or carried out once and answered.
    #[test]
    fn a_request_is_withdrawn_or_carried_out_never_both() {
        let (r, t) = (ring(), table());
        let config = Config { workers: 2, cpus: vec![], idle_spin: None };
        let w = Workers::start(r.clone(), t.clone(), &config).unwrap();
        let (mut done, mut withdrawn) = (0u64, 0u64);
        for k in 0..5000u64 {
            let i = (k % SLOTS as u64) as usize;
            post(&r, i, k, 9, &k.to_le_bytes());
            let bounds = Bounds { claim: 0, spin: 0 };
            match eapp_wait(&r, i, bounds, || assert!(r.await_slot(i, Duration::from_secs(10)))) {
                (Awaited::Done, _) => {
                    assert_eq!(answer(&r, i), (state::DONE, status::OK, 8, k, k + 1));
                    done += 1;
                }
                (Awaited::Withdrawn, _) => withdrawn += 1,
                other => panic!("{other:?}"),
            }
            r.slot(i).release();
        }
        drop(w);
        assert_eq!(done + withdrawn, 5000);
        assert_eq!(t.switchless.load(Ordering::Relaxed), done, "withdrawn ones were not served");
    }

    #[test]
    fn the_ring_is_no_edge_call_room_once_the_eapp_marked_it() {
        let mut utm = vec![0u8; 8192];
        assert_eq!(edge_call_room(&utm), 8192);
        utm.write_u64(4096, MAGIC);
        assert_eq!(edge_call_room(&utm), 4096);
        let mut small = vec![0u8; 4096];
        small.write_u64(0, MAGIC);
        assert_eq!(edge_call_room(&small), 4096, "no page would be left");
    }
}

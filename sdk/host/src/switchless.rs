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
//! ordinary ocall; stopping the workers sets it to 0 first.

use crate::sys::{pin_current_thread, SharedWords};
use crate::{Reply, SharedMem, Table};
use keystone_abi::edge::status;
use keystone_abi::switchless::{
    header, slot, slot_offset, state, MAGIC, PAYLOAD_BYTES, PAYLOAD_OFFSET, RING_BYTES, SLOTS,
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

    /// Whether the eapp has mapped the ring (its magic is in the header).
    pub fn attached(&self) -> bool {
        self.load(header::MAGIC) == MAGIC
    }

    /// Serves slot `i` if it holds a request no other worker took: returns
    /// whether it did.
    fn serve(&self, i: usize, table: &Table) -> bool {
        let word = |field: usize| self.0.word(slot_offset(i) + field);
        let st = word(slot::STATE);
        if st.load(Ordering::Relaxed) != state::POSTED
            || st
                .compare_exchange(
                    state::POSTED,
                    state::CLAIMED,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                )
                .is_err()
        {
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
        // Release: the eapp that sees DONE (acquire) sees the answer.
        st.store(state::DONE, Ordering::Release);
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
    use std::fs::OpenOptions;

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
        r.store(b + slot::STATE, state::POSTED);
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

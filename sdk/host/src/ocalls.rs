//! What a handler answers ([`Reply`]), the handlers of one enclave
//! ([`Ocalls`]) and how an edge call in the UTM is served with them.

use crate::dispatch::{Entry, Table};
use crate::{switchless, SharedMem};
use keystone_abi::edge::{status, DATA_OFFSET, EDGE_CALL_SIZE};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// A handler's answer to an ocall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// OK, no data back.
    None,
    /// OK, these bytes at the UTM's data area (`edge_call_setup_ret`).
    Data(Vec<u8>),
    /// OK, an `edge_data` naming these bytes, stored right after it
    /// (`edge_call_setup_wrapped_ret`).
    Wrapped(Vec<u8>),
    /// The call failed with this edge status.
    Status(u64),
    /// This header, exactly as given, with no data written: for tests that
    /// play a lying host (the runtime must check what it is told).
    Raw { status: u64, offset: u64, size: u64 },
}

/// Counters for diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// INTERRUPTED stops (a host interrupt arrived while the enclave ran).
    pub interrupts: u64,
    /// EDGE_CALL_HOST stops (ocalls, proxied syscalls included).
    pub ocalls: u64,
    /// Ocalls answered BAD_CALL_ID (no handler).
    pub unknown_ocalls: u64,
    /// Calls the switchless workers answered through the ring.
    pub switchless: u64,
    /// WAIT_OCALLs the run loop served: an eapp waiting for a call a worker
    /// held past its spin bound (counted in `ocalls` too).
    pub switchless_waits: u64,
}

/// The ocall handlers of an enclave, by id, and what serving them counted.
#[derive(Default)]
pub struct Ocalls {
    pub(crate) table: Arc<Table>,
    pub(crate) stats: Stats,
    /// The switchless ring, for the eapp's WAIT_OCALLs.
    pub(crate) ring: Option<switchless::Ring>,
}

impl Ocalls {
    fn table_mut(&mut self) -> &mut Table {
        Arc::get_mut(&mut self.table).expect("handlers are added before any worker starts")
    }

    /// Serves ocall `id` with `handler`, replacing any handler it had. The
    /// handler runs on one thread at a time (the run loop's or a worker's).
    pub fn insert(&mut self, id: u64, handler: impl FnMut(&[u8]) -> Reply + Send + 'static) {
        self.table_mut().insert(id, Entry::Exclusive(Mutex::new(Box::new(handler))));
    }

    /// Serves ocall `id` with `handler`, which switchless workers may run on
    /// several threads at once.
    pub fn insert_shared(
        &mut self,
        id: u64,
        handler: impl Fn(&[u8]) -> Reply + Send + Sync + 'static,
    ) {
        self.table_mut().insert(id, Entry::Shared(Box::new(handler)));
    }

    pub fn stats(&self) -> Stats {
        Stats {
            unknown_ocalls: self.table.unknown.load(Ordering::Relaxed),
            switchless: self.table.switchless.load(Ordering::Relaxed),
            ..self.stats
        }
    }

    pub(crate) fn table(&self) -> Arc<Table> {
        self.table.clone()
    }

    /// The handler's answer to call `id` with arguments `args`: its own,
    /// the SDK's for an unhandled EDGECALL_SYSCALL, else BAD_CALL_ID.
    pub fn dispatch(&mut self, id: u64, args: &[u8]) -> Reply {
        self.table.dispatch(id, args)
    }

    /// Reads the edge call in `utm`, dispatches it by id and writes the
    /// answer: BAD_OFFSET if its arguments are not inside the UTM, ERROR if
    /// the reply does not fit. When the eapp has mapped the switchless ring
    /// (its magic is at the ring's place), the ring is not part of the UTM
    /// an edge call may use, and the run loop answers the eapp's
    /// [`WAIT_OCALL`](keystone_abi::switchless::WAIT_OCALL) itself: it waits
    /// (bounded) for the worker holding that slot's call to finish it.
    ///
    /// Generic so the run loop's UTM accessors are inlined (a `dyn
    /// SharedMem` works too).
    pub fn serve<U: SharedMem + ?Sized>(&mut self, utm: &mut U) {
        let size = switchless::edge_call_room(utm) as u64;
        if size < EDGE_CALL_SIZE as u64 {
            return;
        }
        let [id, off, len] = utm.read_u64x3(0);
        let in_utm =
            off >= EDGE_CALL_SIZE as u64 && off.checked_add(len).is_some_and(|e| e <= size);
        let reply = if !in_utm {
            Reply::Status(status::BAD_OFFSET)
        } else {
            let args = if len == 0 { Vec::new() } else { utm.read(off as usize, len as usize) };
            match &self.ring {
                Some(ring) if id == switchless::WAIT_OCALL => {
                    self.stats.switchless_waits += 1;
                    ring.serve_wait(&args)
                }
                _ => self.dispatch(id, &args),
            }
        };
        let room = size.saturating_sub(DATA_OFFSET as u64);
        let (st, off, len) = match reply {
            Reply::None => (status::OK, 0, 0),
            Reply::Status(st) => (st, 0, 0),
            Reply::Raw { status, offset, size } => (status, offset, size),
            Reply::Data(d) if (d.len() as u64) <= room => {
                utm.write(DATA_OFFSET, &d);
                (status::OK, DATA_OFFSET as u64, d.len() as u64)
            }
            Reply::Wrapped(d) if (d.len() as u64) + 16 <= room => {
                let at = DATA_OFFSET as u64 + 16;
                utm.write_u64(DATA_OFFSET, at);
                utm.write_u64(DATA_OFFSET + 8, d.len() as u64);
                utm.write(at as usize, &d);
                (status::OK, DATA_OFFSET as u64, 16)
            }
            Reply::Data(_) | Reply::Wrapped(_) => (status::ERROR, 0, 0),
        };
        utm.write_u64x3(24, [st, off, len]);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use keystone_abi::edge::{self, status};
    use keystone_abi::eyrie::linux;
    use std::sync::{Arc, Mutex};

    const UTM: usize = 4096;

    /// A UTM holding one edge call: `id`, its arguments at `off`..`off + len`.
    pub(crate) fn utm_with_call(id: u64, off: u64, args: &[u8], len: u64) -> Vec<u8> {
        let mut u = vec![0u8; UTM];
        u.write_u64(0, id);
        u.write_u64(8, off);
        u.write_u64(16, len);
        if let Some(end) = (off as usize).checked_add(args.len()).filter(|&e| e <= UTM) {
            u[off as usize..end].copy_from_slice(args);
        }
        u
    }

    /// (status, ret offset, ret size) the host wrote back.
    pub(crate) fn answer(u: &Vec<u8>) -> (u64, u64, u64) {
        (u.read_u64(24), u.read_u64(32), u.read_u64(40))
    }

    fn serve(ocalls: &mut Ocalls, u: &mut Vec<u8>) -> (u64, u64, u64) {
        ocalls.serve(u);
        answer(u)
    }

    #[test]
    fn dispatches_by_id_with_the_arguments() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut ocalls = Ocalls::default();
        let s = seen.clone();
        ocalls.insert(7, move |args| {
            s.lock().unwrap().push(args.to_vec());
            Reply::Data(b"pong".to_vec())
        });
        ocalls.insert(8, |_| panic!("not this one"));
        let mut u = utm_with_call(7, DATA_OFFSET as u64, b"ping", 4);
        assert_eq!(serve(&mut ocalls, &mut u), (status::OK, DATA_OFFSET as u64, 4));
        assert_eq!(&u[DATA_OFFSET..DATA_OFFSET + 4], b"pong");
        assert_eq!(*seen.lock().unwrap(), vec![b"ping".to_vec()]);
        assert_eq!(ocalls.stats().unknown_ocalls, 0);
        // Ids past the small table, and a handler replaced.
        ocalls.insert(1 << 40, |_| Reply::Status(status::ERROR));
        ocalls.insert_shared(1 << 40, |_| Reply::Data(b"big".to_vec()));
        assert_eq!(ocalls.dispatch(1 << 40, b""), Reply::Data(b"big".to_vec()));
        assert_eq!(ocalls.dispatch((1 << 40) + 1, b""), Reply::Status(status::BAD_CALL_ID));
        ocalls.insert_shared(7, |_| Reply::None);
        assert_eq!(ocalls.dispatch(7, b""), Reply::None);
    }

    #[test]
    fn unknown_ids_get_bad_call_id_and_are_counted() {
        let mut ocalls = Ocalls::default();
        ocalls.insert(1, |_| Reply::None);
        let mut u = utm_with_call(9, DATA_OFFSET as u64, b"x", 1);
        assert_eq!(serve(&mut ocalls, &mut u), (status::BAD_CALL_ID, 0, 0));
        let mut u = utm_with_call(edge::MAX_EDGE_CALL, DATA_OFFSET as u64, b"", 0);
        assert_eq!(serve(&mut ocalls, &mut u).0, status::BAD_CALL_ID);
        assert_eq!(ocalls.stats().unknown_ocalls, 2);
        let mut u = utm_with_call(1, DATA_OFFSET as u64, b"", 0);
        assert_eq!(serve(&mut ocalls, &mut u), (status::OK, 0, 0));
        assert_eq!(ocalls.stats().unknown_ocalls, 2);
    }

    #[test]
    fn arguments_must_lie_after_the_header_and_inside_the_utm() {
        let mut ocalls = Ocalls::default();
        ocalls.insert(1, |_| Reply::None);
        let bad = |off: u64, len: u64| {
            let mut o = Ocalls::default();
            o.insert(1, |_| panic!("called with arguments outside the UTM"));
            let mut u = utm_with_call(1, off, b"", len);
            serve(&mut o, &mut u)
        };
        assert_eq!(bad(EDGE_CALL_SIZE as u64 - 1, 1), (status::BAD_OFFSET, 0, 0), "in the header");
        assert_eq!(bad(0, 0), (status::BAD_OFFSET, 0, 0));
        assert_eq!(bad(UTM as u64 - 8, 9), (status::BAD_OFFSET, 0, 0), "past the end");
        assert_eq!(bad(UTM as u64 + 1, 0), (status::BAD_OFFSET, 0, 0));
        assert_eq!(bad(64, u64::MAX), (status::BAD_OFFSET, 0, 0), "wraps");
        assert_eq!(bad(u64::MAX, 2), (status::BAD_OFFSET, 0, 0), "wraps");
        for (off, len) in [(EDGE_CALL_SIZE as u64, 0), (UTM as u64 - 8, 8), (UTM as u64, 0)] {
            let mut u = utm_with_call(1, off, b"", len);
            assert_eq!(serve(&mut ocalls, &mut u).0, status::OK, "{off} {len}");
        }
    }

    #[test]
    fn replies_that_do_not_fit_are_an_error() {
        let room = UTM - DATA_OFFSET;
        let reply = |r: Reply| {
            let mut o = Ocalls::default();
            o.insert(3, move |_| r.clone());
            let mut u = utm_with_call(3, DATA_OFFSET as u64, b"", 0);
            (serve(&mut o, &mut u), u)
        };
        assert_eq!(
            reply(Reply::Data(vec![1; room])).0,
            (status::OK, DATA_OFFSET as u64, room as u64)
        );
        assert_eq!(reply(Reply::Data(vec![1; room + 1])).0, (status::ERROR, 0, 0));
        let (a, u) = reply(Reply::Wrapped(vec![2; room - 16]));
        assert_eq!(a, (status::OK, DATA_OFFSET as u64, 16));
        assert_eq!(u.read_u64(DATA_OFFSET), DATA_OFFSET as u64 + 16, "edge_data offset");
        assert_eq!(u.read_u64(DATA_OFFSET + 8), (room - 16) as u64, "edge_data size");
        assert_eq!(u[UTM - 1], 2);
        assert_eq!(reply(Reply::Wrapped(vec![2; room - 15])).0, (status::ERROR, 0, 0));
        assert_eq!(reply(Reply::Status(status::BAD_PTR)).0, (status::BAD_PTR, 0, 0));
        let raw = Reply::Raw { status: status::OK, offset: u64::MAX - 4, size: 16 };
        assert_eq!(reply(raw).0, (status::OK, u64::MAX - 4, 16), "a lying host, as told");
    }

    /// The request of a proxied write(2): syscall number, fd, pad, len, bytes.
    fn write_request(num: u64, fd: i32, len: u64, buf: &[u8]) -> Vec<u8> {
        let mut r = num.to_le_bytes().to_vec();
        r.extend_from_slice(&fd.to_le_bytes());
        r.extend_from_slice(&[0; 4]);
        r.extend_from_slice(&len.to_le_bytes());
        r.extend_from_slice(buf);
        r
    }

    fn syscall_result(reply: Reply) -> i64 {
        match reply {
            Reply::Data(d) => i64::from_le_bytes(d.try_into().unwrap()),
            other => panic!("not a syscall result: {other:?}"),
        }
    }

    #[test]
    fn unhandled_proxied_syscalls_get_the_sdks_answer() {
        let mut o = Ocalls::default();
        let call =
            |o: &mut Ocalls, req: &[u8]| syscall_result(o.dispatch(edge::EDGECALL_SYSCALL, req));
        assert_eq!(
            call(&mut o, &write_request(linux::WRITE as u64, 7, 2, b"hi")),
            -(linux::EBADF as i64)
        );
        assert_eq!(call(&mut o, &write_request(63, 1, 2, b"hi")), -(linux::ENOSYS as i64));
        assert_eq!(
            call(&mut o, &write_request(linux::WRITE as u64, 1, 3, b"hi")),
            -(linux::EINVAL as i64),
            "len past the data"
        );
        assert_eq!(call(&mut o, &[1, 2, 3]), -(linux::EINVAL as i64), "truncated");
        assert_eq!(o.stats().unknown_ocalls, 0);
        o.insert(edge::EDGECALL_SYSCALL, |_| Reply::Status(status::SYSCALL_FAILED));
        assert_eq!(o.dispatch(edge::EDGECALL_SYSCALL, &[]), Reply::Status(status::SYSCALL_FAILED));
    }
}

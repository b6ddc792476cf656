//! The ocall handler table, by id, shared by the run loop and the
//! switchless workers, and the SDK's own answers to the calls no handler
//! takes (a proxied write(2), a refused file call, BAD_CALL_ID).

use crate::Reply;
use keystone_abi::edge::{self, status};
use keystone_abi::eyrie::linux;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

pub(crate) type Handler = Box<dyn FnMut(&[u8]) -> Reply + Send>;
pub(crate) type SharedHandler = Box<dyn Fn(&[u8]) -> Reply + Send + Sync>;

/// One handler: called by one thread at a time, or by any number at once.
pub(crate) enum Entry {
    Exclusive(Mutex<Handler>),
    Shared(SharedHandler),
}

/// Hashes an ocall id with one multiplication: ids are small integers the
/// host chose, so SipHash's protection buys nothing on the ocall path.
#[derive(Default)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    fn write_u64(&mut self, v: u64) {
        // Fibonacci hashing: spreads small ids over the table's tag bits.
        self.0 = v.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Ids below this are looked up by index (Keystone's ids are below 16).
const SMALL_IDS: usize = 16;

/// The handlers by id, shared by the run loop and the switchless workers.
#[derive(Default)]
pub(crate) struct Table {
    small: [Option<Entry>; SMALL_IDS],
    handlers: HashMap<u64, Entry, BuildHasherDefault<IdHasher>>,
    pub(crate) unknown: AtomicU64,
    pub(crate) switchless: AtomicU64,
}

impl Table {
    /// The handler's answer to call `id` with arguments `args`: its own,
    /// the SDK's for an unhandled EDGECALL_SYSCALL, else BAD_CALL_ID.
    pub(crate) fn dispatch(&self, id: u64, args: &[u8]) -> Reply {
        let entry = match usize::try_from(id) {
            Ok(i) if i < SMALL_IDS => self.small[i].as_ref(),
            _ => self.handlers.get(&id),
        };
        match entry {
            Some(Entry::Shared(h)) => h(args),
            // A handler that panicked on another thread left the lock
            // poisoned; its state is the handler's own business.
            Some(Entry::Exclusive(h)) => h.lock().unwrap_or_else(|p| p.into_inner())(args),
            None if id == edge::EDGECALL_SYSCALL => proxy_syscall(args),
            None if id == edge::EDGECALL_FILE => refuse_file(args),
            None if id == keystone_abi::net::EDGECALL_SOCKET => crate::sockets::refuse_socket(args),
            None => {
                self.unknown.fetch_add(1, Ordering::Relaxed);
                Reply::Status(status::BAD_CALL_ID)
            }
        }
    }

    pub(crate) fn insert(&mut self, id: u64, entry: Entry) {
        match usize::try_from(id) {
            Ok(i) if i < SMALL_IDS => self.small[i] = Some(entry),
            _ => {
                self.handlers.insert(id, entry);
            }
        }
    }

    pub(crate) fn count_switchless(&self) {
        self.switchless.fetch_add(1, Ordering::Relaxed);
    }
}

/// EDGECALL_FILE with no [`Builder::files`]: every call refused (EACCES).
fn refuse_file(_: &[u8]) -> Reply {
    Reply::Data((-(linux::EACCES as i64)).to_le_bytes().to_vec())
}

/// EDGECALL_SYSCALL: write(2) to fd 1 or 2 goes to ours; anything else is
/// -ENOSYS (the runtime proxies only what it must).
fn proxy_syscall(data: &[u8]) -> Reply {
    let result: i64 = (|| {
        let num = u64::from_le_bytes(data.get(..8)?.try_into().ok()?) as usize;
        let args = &data[edge::SYSCALL_DATA_OFFSET..];
        if num != linux::WRITE {
            return Some(-(linux::ENOSYS as i64));
        }
        let fd = i32::from_le_bytes(args.get(..4)?.try_into().ok()?);
        let len = u64::from_le_bytes(args.get(8..16)?.try_into().ok()?) as usize;
        let buf = args.get(edge::WRITE_BUF_OFFSET..)?.get(..len)?;
        let ok = match fd {
            1 => io::stdout().write_all(buf).and_then(|_| io::stdout().flush()),
            2 => io::stderr().write_all(buf),
            _ => return Some(-(linux::EBADF as i64)),
        };
        Some(if ok.is_ok() { len as i64 } else { -(linux::EBADF as i64) })
    })()
    .unwrap_or(-(linux::EINVAL as i64));
    Reply::Data(result.to_le_bytes().to_vec())
}

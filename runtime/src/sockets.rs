//! Sockets proxied to the host: which of the eapp's descriptors are
//! sockets, and the checks on every answer the host gives to a socket call
//! (see `keystone_abi::net`).
//!
//! A socket's descriptor is an entry of the eapp's one descriptor table
//! ([`crate::files::FdTable`], holding the host's handle); a [`SocketSet`]
//! marks which entries are sockets, so that read, write and close on them
//! go to the socket server and never to the file server.
//!
//! An answer is checked before a byte moves: its range inside the UTM, its
//! result against what was asked (as a file call's), an address no longer
//! than [`SOCKADDR_MAX`], the bytes it claims present, and a new socket's
//! handle not one of those already open (a host cannot make two of the
//! eapp's descriptors name one socket).

use crate::edge;
use crate::files::{self, FdTable, FIRST_FD, MAX_FILES};
use core::ops::Range;
use keystone_abi::edge::{EdgeCall, FILE_REPLY_SIZE};
use keystone_abi::eyrie::linux;
use keystone_abi::net::{self, ADDR_BLOCK, SOCKADDR_MAX};

const _: () = assert!(MAX_FILES <= 64);

/// Which of the eapp's descriptors are sockets (a bit per table entry).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SocketSet(u64);

impl SocketSet {
    pub const fn new() -> Self {
        SocketSet(0)
    }

    fn bit(fd: usize) -> Option<u64> {
        let i = fd.checked_sub(FIRST_FD)?;
        (i < MAX_FILES).then(|| 1u64 << i)
    }

    /// Whether `fd` is one of the eapp's sockets.
    pub fn contains(&self, fd: usize) -> bool {
        Self::bit(fd).is_some_and(|b| self.0 & b != 0)
    }

    /// Marks `fd` a socket.
    pub fn insert(&mut self, fd: usize) {
        if let Some(b) = Self::bit(fd) {
            self.0 |= b;
        }
    }

    /// Unmarks `fd` (closed).
    pub fn remove(&mut self, fd: usize) {
        if let Some(b) = Self::bit(fd) {
            self.0 &= !b;
        }
    }

    /// Whether `handle` already names one of the eapp's open sockets.
    pub fn holds_handle(&self, table: &FdTable, handle: u64) -> bool {
        (FIRST_FD..FIRST_FD + MAX_FILES)
            .any(|fd| self.contains(fd) && table.get(fd) == Some(handle))
    }
}

/// The errno for a socket(domain, type) the runtime refuses itself:
/// families other than IPv4/IPv6 (AF_UNIX would name host paths outside
/// the file policy) are EAFNOSUPPORT; types other than stream and datagram,
/// or flags other than NONBLOCK/CLOEXEC, are EINVAL. Non-blocking sockets
/// are not served (the host would block the enclave anyway): EINVAL.
pub fn check_socket(domain: u64, kind: u64) -> Result<(), isize> {
    if domain != net::AF_INET && domain != net::AF_INET6 {
        return Err(net::EAFNOSUPPORT);
    }
    let base = kind & net::SOCK_TYPE_MASK;
    if base != net::SOCK_STREAM && base != net::SOCK_DGRAM {
        return Err(linux::EINVAL);
    }
    if kind & !(net::SOCK_TYPE_MASK | net::SOCK_CLOEXEC) != 0 {
        return Err(linux::EINVAL);
    }
    Ok(())
}

/// The length of an address the eapp hands over (bind, connect, sendto):
/// EINVAL when shorter than its family field or longer than an address
/// block holds.
pub fn check_addr_len(len: usize) -> Result<usize, isize> {
    if !(2..=SOCKADDR_MAX).contains(&len) {
        return Err(linux::EINVAL);
    }
    Ok(len)
}

/// A checked answer: the result, the address it carries (the UTM range of
/// its bytes, at most [`SOCKADDR_MAX`]) and the data after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub value: u64,
    pub addr: Range<usize>,
    pub data: Range<usize>,
}

/// The host's answer to a socket call in `utm`: its result checked against
/// `limit` (see [`files::check_result`]); when `with_addr`, an address block
/// follows the header, its length at most [`SOCKADDR_MAX`]; when `counted`,
/// as many bytes as the result says follow that. Anything else (a range
/// outside the UTM, a failed call, too few bytes, a longer address) is EIO.
pub fn answer(
    utm: &[u8],
    call: &EdgeCall,
    limit: Option<u64>,
    with_addr: bool,
    counted: bool,
) -> Result<Answer, isize> {
    let range = edge::reply(utm.len(), call).map_err(|_| linux::EIO)?;
    if range.len() < FILE_REPLY_SIZE {
        return Err(linux::EIO);
    }
    let value = files::check_result(read_u64(utm, range.start) as i64, limit)?;
    let mut at = range.start + FILE_REPLY_SIZE;
    let mut addr = at..at;
    if with_addr {
        if range.end - at < ADDR_BLOCK {
            return Err(linux::EIO);
        }
        let len = read_u64(utm, at);
        if len > SOCKADDR_MAX as u64 {
            return Err(linux::EIO);
        }
        addr = at + 8..at + 8 + len as usize;
        at += ADDR_BLOCK;
    }
    let n = if counted { usize::try_from(value).map_err(|_| linux::EIO)? } else { 0 };
    if n > range.end - at {
        return Err(linux::EIO);
    }
    Ok(Answer { value, addr, data: at..at + n })
}

/// The u64 at `at` (the caller checked 8 bytes are there).
fn read_u64(utm: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&utm[at..at + 8]);
    u64::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keystone_abi::edge::status;

    #[test]
    fn the_set_marks_only_table_descriptors() {
        let mut set = SocketSet::new();
        let mut t = FdTable::new();
        let fd = t.insert(77).unwrap();
        set.insert(fd);
        set.insert(0);
        set.insert(FIRST_FD + MAX_FILES);
        assert!(set.contains(fd));
        assert!(!set.contains(0) && !set.contains(FIRST_FD + MAX_FILES) && !set.contains(fd + 1));
        assert!(set.holds_handle(&t, 77));
        let file = t.insert(78).unwrap();
        assert!(!set.holds_handle(&t, 78), "a file's handle is not a socket's");
        assert!(!set.contains(file));
        set.remove(fd);
        assert!(!set.contains(fd) && !set.holds_handle(&t, 77));
    }

    #[test]
    fn only_inet_stream_and_datagram_sockets_are_made() {
        assert_eq!(check_socket(net::AF_INET, net::SOCK_STREAM | net::SOCK_CLOEXEC), Ok(()));
        assert_eq!(check_socket(net::AF_INET6, net::SOCK_DGRAM), Ok(()));
        assert_eq!(check_socket(net::AF_UNIX, net::SOCK_STREAM), Err(net::EAFNOSUPPORT));
        assert_eq!(check_socket(net::AF_INET, 3), Err(linux::EINVAL), "raw");
        assert_eq!(check_socket(net::AF_INET, 1 | net::SOCK_NONBLOCK), Err(linux::EINVAL));
        assert_eq!(check_addr_len(16), Ok(16));
        assert_eq!(check_addr_len(1), Err(linux::EINVAL));
        assert_eq!(check_addr_len(SOCKADDR_MAX + 1), Err(linux::EINVAL));
    }

    /// A UTM whose answer at 48 is `result`, an address block of `addr_len`
    /// (when Some) and `data`; the answer's range is `size` bytes.
    fn utm_with(result: i64, addr_len: Option<u64>, data: &[u8], size: u64) -> (Vec<u8>, EdgeCall) {
        let mut utm = vec![0u8; 4096];
        utm[48..56].copy_from_slice(&result.to_le_bytes());
        let mut at = 56;
        if let Some(l) = addr_len {
            utm[at..at + 8].copy_from_slice(&l.to_le_bytes());
            at += ADDR_BLOCK;
        }
        utm[at..at + data.len()].copy_from_slice(data);
        let mut c = EdgeCall::default();
        c.return_data.call_status = status::OK;
        c.return_data.call_ret_offset = 48;
        c.return_data.call_ret_size = size;
        (utm, c)
    }

    #[test]
    fn an_address_longer_than_a_sockaddr_storage_is_a_lie() {
        let full = (8 + ADDR_BLOCK) as u64;
        let (u, c) = utm_with(4, Some(16), b"", full);
        assert_eq!(
            answer(&u, &c, None, true, false),
            Ok(Answer { value: 4, addr: 64..80, data: 192..192 })
        );
        let (u, c) = utm_with(4, Some(128), b"", full);
        assert_eq!(answer(&u, &c, None, true, false).map(|a| a.addr.len()), Ok(128));
        let (u, c) = utm_with(4, Some(129), b"", full);
        assert_eq!(answer(&u, &c, None, true, false), Err(linux::EIO));
        let (u, c) = utm_with(4, Some(u64::MAX), b"", full);
        assert_eq!(answer(&u, &c, None, true, false), Err(linux::EIO));
        let (u, c) = utm_with(4, Some(16), b"", full - 1);
        assert_eq!(answer(&u, &c, None, true, false), Err(linux::EIO), "short block");
    }

    #[test]
    fn received_bytes_are_no_more_than_asked_and_all_there() {
        let full = (8 + ADDR_BLOCK + 5) as u64;
        let (u, c) = utm_with(5, Some(16), b"hello", full);
        assert_eq!(answer(&u, &c, Some(5), true, true).map(|a| a.data), Ok(192..197));
        assert_eq!(answer(&u, &c, Some(4), true, true), Err(linux::EIO), "more than asked");
        let (u, c) = utm_with(5, Some(16), b"hello", full - 1);
        assert_eq!(answer(&u, &c, Some(5), true, true), Err(linux::EIO), "a byte short");
        let (u, c) = utm_with(-111, None, b"", 8);
        assert_eq!(answer(&u, &c, Some(5), true, true), Err(111), "an errno needs no block");
        let (u, mut c) = utm_with(5, Some(16), b"hello", full);
        c.return_data.call_ret_offset = 4090;
        assert_eq!(answer(&u, &c, Some(5), true, true), Err(linux::EIO), "outside the UTM");
        let (u, c) = utm_with(3, None, b"abc", 11);
        assert_eq!(answer(&u, &c, Some(4), false, true).map(|a| a.data), Ok(56..59));
    }
}

//! Files proxied to the host: the eapp's descriptor table and the checks on
//! every answer the host gives to a file call (see `keystone_abi::edge::file`).
//!
//! The eapp's descriptors are the runtime's: fd 0..2 are the console, 3.. name
//! entries of [`FdTable`], each holding the host's handle. A handle is opaque
//! (any number the host likes); the host never chooses an eapp descriptor,
//! so a bogus one cannot alias another file or reach past the table.
//!
//! Every result is checked against what was asked before a byte moves: a
//! read may not claim more than it was asked for nor more than it answered,
//! a write may not claim more than it was given, an error must be an errno.

use crate::edge::{self, EdgeError};
use keystone_abi::edge::{EdgeCall, FILE_REPLY_SIZE};
use keystone_abi::eyrie::linux;

/// How many files an eapp may have open at once.
pub const MAX_FILES: usize = 32;
/// The first descriptor the table hands out (0..2 are the console).
pub const FIRST_FD: usize = 3;

/// The eapp's open files: descriptor -> the host's handle.
#[derive(Debug, Clone, Copy)]
pub struct FdTable {
    slots: [Option<u64>; MAX_FILES],
}

impl Default for FdTable {
    fn default() -> Self {
        Self::new()
    }
}

impl FdTable {
    pub const fn new() -> Self {
        FdTable { slots: [None; MAX_FILES] }
    }

    /// The lowest free descriptor, now naming `handle`; None when full.
    pub fn insert(&mut self, handle: u64) -> Option<usize> {
        let i = self.slots.iter().position(Option::is_none)?;
        self.slots[i] = Some(handle);
        Some(FIRST_FD + i)
    }

    /// The lowest free descriptor >= `min`, now naming `handle` (fcntl's
    /// F_DUPFD); None when there is none.
    pub fn insert_from(&mut self, min: usize, handle: u64) -> Option<usize> {
        let from = min.saturating_sub(FIRST_FD);
        let i = from + self.slots.get(from..)?.iter().position(Option::is_none)?;
        self.slots[i] = Some(handle);
        Some(FIRST_FD + i)
    }

    /// Whether a descriptor >= `min` is free.
    pub fn has_room_from(&self, min: usize) -> bool {
        let from = min.saturating_sub(FIRST_FD);
        self.slots.get(from..).is_some_and(|s| s.iter().any(Option::is_none))
    }

    /// The handle descriptor `fd` names, if it is open.
    pub fn get(&self, fd: usize) -> Option<u64> {
        *self.slots.get(fd.checked_sub(FIRST_FD)?)?
    }

    /// Whether another file can be opened.
    pub fn has_room(&self) -> bool {
        self.slots.iter().any(Option::is_none)
    }

    /// Closes `fd`: the handle it named, if it was open.
    pub fn remove(&mut self, fd: usize) -> Option<u64> {
        self.slots.get_mut(fd.checked_sub(FIRST_FD)?)?.take()
    }
}

/// A host's result for a call that asked for at most `limit` (bytes, or
/// any non-negative value when `limit` is None): the value, or the errno
/// the eapp gets. A negative result outside the errno range, and a count
/// above `limit`, are lies: EIO.
pub fn check_result(result: i64, limit: Option<u64>) -> Result<u64, isize> {
    if result < 0 {
        return if result >= -(linux::MAX_ERRNO as i64) {
            Err(-result as isize)
        } else {
            Err(linux::EIO)
        };
    }
    match limit {
        Some(l) if result as u64 > l => Err(linux::EIO),
        _ => Ok(result as u64),
    }
}

/// The bytes an answer carries after its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bytes {
    /// None (the result is all).
    None,
    /// As many as the result says (a read).
    Counted,
    /// Exactly this many (a `struct stat`).
    Exactly(usize),
}

/// The host's answer to a file call in `utm`: its result (checked as
/// [`check_result`]) and the UTM range of the bytes that follow it, as
/// `bytes` says (an empty range for [`Bytes::None`]). An answer whose range
/// leaves the UTM, that is too short for its header, or whose bytes are
/// fewer than its result claims, is EIO.
pub fn answer(
    utm: &[u8],
    call: &EdgeCall,
    limit: Option<u64>,
    bytes: Bytes,
) -> Result<(u64, core::ops::Range<usize>), isize> {
    let range = match edge::reply(utm.len(), call) {
        Ok(r) => r,
        Err(EdgeError::Status(_)) | Err(_) => return Err(linux::EIO),
    };
    if range.len() < FILE_REPLY_SIZE {
        return Err(linux::EIO);
    }
    let mut b = [0u8; 8];
    b.copy_from_slice(&utm[range.start..range.start + 8]);
    let value = check_result(i64::from_le_bytes(b), limit)?;
    let data = range.start + FILE_REPLY_SIZE;
    let n = match bytes {
        Bytes::None => 0,
        Bytes::Counted => usize::try_from(value).map_err(|_| linux::EIO)?,
        Bytes::Exactly(n) => n,
    };
    if n > range.len() - FILE_REPLY_SIZE {
        return Err(linux::EIO);
    }
    Ok((value, data..data + n))
}

/// `linux_dirent64`'s fixed part: d_ino, d_off, d_reclen, d_type.
pub const DIRENT_HEAD: usize = 19;

/// Whether `b` is whole `linux_dirent64` records: each at least its head
/// and a NUL, 8-byte aligned in length, inside `b`, its name ending in a NUL
/// inside the record. A reader that trusts `d_reclen` then stays in `b`.
pub fn dirents_ok(b: &[u8]) -> bool {
    let mut at = 0;
    while at < b.len() {
        let Some(len) = b.get(at + 16..at + 18) else { return false };
        let reclen = u16::from_le_bytes([len[0], len[1]]) as usize;
        if reclen < DIRENT_HEAD + 1 || !reclen.is_multiple_of(8) || reclen > b.len() - at {
            return false;
        }
        if !b[at + DIRENT_HEAD..at + reclen].contains(&0) {
            return false;
        }
        at += reclen;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use keystone_abi::edge::status;

    #[test]
    fn descriptors_are_the_runtimes_own() {
        let mut t = FdTable::new();
        assert_eq!(t.insert(u64::MAX), Some(3), "any handle, the lowest free fd");
        assert_eq!(t.insert(7), Some(4));
        assert_eq!(t.get(3), Some(u64::MAX));
        assert_eq!((t.get(0), t.get(2), t.get(5), t.get(usize::MAX)), (None, None, None, None));
        assert_eq!(t.remove(3), Some(u64::MAX));
        assert_eq!(t.remove(3), None, "closed twice");
        assert_eq!(t.insert(9), Some(3), "reused");
        for _ in 2..MAX_FILES {
            assert!(t.insert(1).is_some());
        }
        assert_eq!(t.insert(1), None, "full");
        assert_eq!(t.get(FIRST_FD + MAX_FILES), None);
    }

    #[test]
    fn dup_takes_the_lowest_free_descriptor_from_its_minimum() {
        let mut t = FdTable::new();
        assert_eq!(t.insert(1), Some(3));
        assert_eq!(t.insert_from(0, 2), Some(4), "below the first: from the first");
        assert_eq!(t.insert_from(10, 3), Some(10));
        assert_eq!(t.insert_from(FIRST_FD + MAX_FILES, 3), None, "past the table");
        assert!(!t.has_room_from(FIRST_FD + MAX_FILES) && t.has_room_from(5));
    }

    fn dirent(name: &[u8], reclen: u16) -> Vec<u8> {
        let mut r = vec![0u8; (reclen as usize).max(24)];
        r[16..18].copy_from_slice(&reclen.to_le_bytes());
        r[DIRENT_HEAD..DIRENT_HEAD + name.len()].copy_from_slice(name);
        r
    }

    #[test]
    fn directory_records_are_checked_before_the_eapp_walks_them() {
        let mut two = dirent(b"a.txt", 32);
        two.extend(dirent(b"b", 24));
        assert!(dirents_ok(&two) && dirents_ok(&[]));
        assert!(!dirents_ok(&two[..40]), "the last record runs past the answer");
        assert!(!dirents_ok(&dirent(b"x", 0)), "d_reclen 0 (a reader would loop)");
        assert!(!dirents_ok(&dirent(b"x", 23)), "unaligned");
        assert!(!dirents_ok(&dirent(b"12345", 24)[..23]), "shorter than it says");
        let mut no_nul = dirent(b"", 24);
        no_nul[DIRENT_HEAD..].fill(b'x');
        assert!(!dirents_ok(&no_nul), "a name without its NUL");
        assert!(!dirents_ok(&[0u8; 10]), "half a head");
    }

    #[test]
    fn results_are_checked_against_the_request() {
        assert_eq!(check_result(100, Some(100)), Ok(100));
        assert_eq!(check_result(0, Some(100)), Ok(0), "end of file");
        assert_eq!(check_result(101, Some(100)), Err(linux::EIO), "more than asked");
        assert_eq!(check_result(-2, Some(100)), Err(linux::ENOENT));
        assert_eq!(check_result(-4095, None), Err(4095));
        assert_eq!(check_result(-4096, None), Err(linux::EIO), "not an errno");
        assert_eq!(check_result(i64::MIN, None), Err(linux::EIO));
        assert_eq!(check_result(i64::MAX, None), Ok(i64::MAX as u64));
    }

    fn utm_with(result: i64, data: &[u8], off: u64, size: u64) -> (Vec<u8>, EdgeCall) {
        let mut utm = vec![0u8; 4096];
        utm[48..56].copy_from_slice(&result.to_le_bytes());
        utm[56..56 + data.len()].copy_from_slice(data);
        let mut c = EdgeCall::default();
        c.return_data.call_status = status::OK;
        c.return_data.call_ret_offset = off;
        c.return_data.call_ret_size = size;
        (utm, c)
    }

    #[test]
    fn answers_with_data_hold_what_they_claim() {
        let (u, c) = utm_with(5, b"hello", 48, 13);
        assert_eq!(answer(&u, &c, Some(10), Bytes::Counted), Ok((5, 56..61)));
        let (u, c) = utm_with(5, b"hello", 48, 12);
        assert_eq!(answer(&u, &c, Some(10), Bytes::Counted), Err(linux::EIO), "one byte short");
        let (u, c) = utm_with(11, b"hello", 48, 4000);
        assert_eq!(answer(&u, &c, Some(10), Bytes::Counted), Err(linux::EIO), "more than asked");
        let (u, c) = utm_with(5, b"hello", 4090, 13);
        assert_eq!(answer(&u, &c, Some(10), Bytes::Counted), Err(linux::EIO), "outside the UTM");
        let (u, c) = utm_with(5, b"hello", 48, 4);
        assert_eq!(answer(&u, &c, Some(10), Bytes::Counted), Err(linux::EIO), "no header");
        let (u, mut c) = utm_with(5, b"hello", 48, 13);
        c.return_data.call_status = status::ERROR;
        assert_eq!(answer(&u, &c, Some(10), Bytes::Counted), Err(linux::EIO), "failed call");
        let (u, c) = utm_with(-13, b"", 48, 8);
        assert_eq!(answer(&u, &c, Some(10), Bytes::Counted), Err(linux::EACCES));
        let (u, c) = utm_with(7, b"", 48, 8);
        assert_eq!(answer(&u, &c, None, Bytes::None), Ok((7, 56..56)), "no data wanted");
        let (u, c) = utm_with(0, &[1; 128], 48, 8 + 128);
        assert_eq!(answer(&u, &c, Some(0), Bytes::Exactly(128)), Ok((0, 56..184)));
        let (u, c) = utm_with(0, &[1; 128], 48, 8 + 127);
        assert_eq!(answer(&u, &c, Some(0), Bytes::Exactly(128)), Err(linux::EIO), "short stat");
    }
}

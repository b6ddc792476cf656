//! The eapp's file system calls, proxied to the host as EDGECALL_FILE calls
//! (`keystone_abi::edge::file`). The eapp's pointers are checked as any
//! system call's (a bad one ends the enclave, BAD_POINTER); the host's
//! answers are checked by `runtime::files` before a byte reaches the eapp:
//! a lie about a length, a range or a result makes the call fail with EIO.

use crate::mem::{State, Utm};
use crate::sealedio;
use crate::syscall::{call_host, console_write, or_bad_pointer};
use keystone_abi::edge::{
    DATA_OFFSET, EDGECALL_FILE, FILE_CALL_SIZE, FILE_REPLY_SIZE, FILE_SEALED,
};
use keystone_abi::eyrie::linux;
use runtime::edge;
use runtime::files::{self, Bytes};
use runtime::PAGE_SIZE;

pub type Result<T> = core::result::Result<T, isize>;

/// Where a call's bytes start in the UTM.
const BYTES_AT: usize = DATA_OFFSET + FILE_CALL_SIZE;

/// The syscall's return value for `r`.
pub fn ret(r: Result<u64>) -> usize {
    match r {
        Ok(v) => v as usize,
        Err(e) => (-e) as usize,
    }
}

/// Bytes a call may carry to the host (after its header).
fn request_room(s: &mut State) -> usize {
    edge::data_capacity(s.utm.size()).saturating_sub(FILE_CALL_SIZE)
}

/// Bytes an answer may carry back (after its header).
fn answer_room(s: &mut State) -> usize {
    edge::data_capacity(s.utm.size()).saturating_sub(FILE_REPLY_SIZE)
}

/// Writes the call's header, calls the host with `len` bytes after it and
/// checks the answer (see `files::answer`).
fn call(
    s: &mut State,
    num: usize,
    args: [u64; 4],
    len: usize,
    limit: Option<u64>,
    bytes: Bytes,
) -> Result<(u64, core::ops::Range<usize>)> {
    file_call(&mut s.utm, num, args, len, limit, bytes)
}

/// [`call`] on the UTM alone (the sealed files' host I/O).
pub fn file_call(
    utm: &mut Utm,
    num: usize,
    args: [u64; 4],
    len: usize,
    limit: Option<u64>,
    bytes: Bytes,
) -> Result<(u64, core::ops::Range<usize>)> {
    let u = utm.bytes();
    if u.len() < BYTES_AT {
        return Err(linux::EIO);
    }
    u[DATA_OFFSET..DATA_OFFSET + 8].copy_from_slice(&(num as u64).to_le_bytes());
    for (i, a) in args.iter().enumerate() {
        let at = DATA_OFFSET + 8 + 8 * i;
        u[at..at + 8].copy_from_slice(&a.to_le_bytes());
    }
    let answer = call_host(utm, EDGECALL_FILE, FILE_CALL_SIZE + len).map_err(|_| linux::EIO)?;
    files::answer(utm.bytes(), &answer, limit, bytes)
}

/// Copies the eapp's NUL-terminated `path` into the UTM, `at` bytes after
/// the call's header, page by page with each piece checked: its length
/// (ENOENT if empty, ENAMETOOLONG past PATH_MAX or the UTM). Only AT_FDCWD
/// or an absolute path (the host resolves a relative one in its own
/// directory): another `dirfd` with a relative path is EINVAL.
fn copy_path(s: &mut State, dirfd: usize, path: usize, at: usize) -> Result<usize> {
    let max = linux::PATH_MAX.min(request_room(s).saturating_sub(at));
    let start = BYTES_AT + at;
    let mut len = 0;
    loop {
        if len == max {
            return Err(linux::ENAMETOOLONG);
        }
        let va = path.checked_add(len).unwrap_or_else(|| crate::syscall::bad_pointer());
        let n = (PAGE_SIZE - va % PAGE_SIZE).min(max - len);
        let src = or_bad_pointer(s.space.readable(va, n));
        let dst = &mut s.utm.bytes()[start + len..start + len + n];
        s.space.copy_in(&src, dst);
        if let Some(nul) = dst.iter().position(|&b| b == 0) {
            len += nul;
            break;
        }
        len += n;
    }
    if len == 0 {
        return Err(linux::ENOENT);
    }
    if dirfd as isize != linux::AT_FDCWD && s.utm.bytes()[start] != b'/' {
        return Err(linux::EINVAL);
    }
    Ok(len)
}

/// Records `fd`'s FD_CLOEXEC (fds below 64; the table is smaller).
fn set_cloexec(s: &mut State, fd: usize, on: bool) {
    let bit = 1u64.checked_shl(fd as u32).unwrap_or(0);
    if on {
        s.cloexec |= bit;
    } else {
        s.cloexec &= !bit;
    }
}

fn handle(s: &State, fd: usize) -> Result<u64> {
    s.files.get(fd).ok_or(linux::EBADF)
}

/// openat(dirfd, path, flags, mode): the path is copied (up to its NUL) into
/// the UTM page by page, each piece checked; only AT_FDCWD or an absolute
/// path (the host resolves a relative one in its own directory).
pub fn openat(s: &mut State, dirfd: usize, path: usize, flags: usize, mode: usize) -> Result<u64> {
    let len = copy_path(s, dirfd, path, 0)?;
    if !s.files.has_room() {
        return Err(linux::EMFILE);
    }
    let (h, _) = call(s, linux::OPENAT, [flags as u64, mode as u64, 0, 0], len, None, Bytes::None)?;
    let fd = s.files.insert(h).expect("checked room");
    set_cloexec(s, fd, flags & linux::O_CLOEXEC != 0);
    if h & FILE_SEALED != 0 {
        if let Err(e) = sealedio::open(s, fd, h, flags) {
            let _ = close(s, fd);
            return Err(e);
        }
    }
    Ok(fd as u64)
}

/// close(fd): the console's descriptors stay; a file's is freed here
/// whatever the host answers.
pub fn close(s: &mut State, fd: usize) -> Result<u64> {
    if fd <= 2 {
        return Ok(0);
    }
    let h = s.files.remove(fd).ok_or(linux::EBADF)?;
    s.sealed.forget(fd);
    set_cloexec(s, fd, false);
    call(s, linux::CLOSE, [h, 0, 0, 0], 0, Some(0), Bytes::None).map(|_| 0)
}

/// read/pread64(fd, buf, count[, offset]): at most what one answer holds.
pub fn read(s: &mut State, fd: usize, buf: usize, count: usize, at: Option<usize>) -> Result<u64> {
    if fd == 0 {
        return Ok(0);
    }
    let h = handle(s, fd)?;
    let offset = positioned(at)?;
    if s.sealed.has(fd) {
        return sealedio::read(s, fd, buf, count, at.map(|_| offset));
    }
    let dst = or_bad_pointer(s.space.writable(buf, count));
    let n = count.min(answer_room(s));
    let args = [h, n as u64, offset, at.is_some() as u64];
    let (got, range) = call(s, linux::READ, args, 0, Some(n as u64), Bytes::Counted)?;
    let dst = dst.prefix(got as usize);
    s.space.copy_out(&dst, &s.utm.bytes()[range]);
    Ok(got)
}

/// write/pwrite64(fd, buf, count[, offset]): at most what one call holds;
/// fd 1 and 2 (not positioned) are the console's.
pub fn write(s: &mut State, fd: usize, buf: usize, count: usize, at: Option<usize>) -> Result<u64> {
    if (fd == 1 || fd == 2) && at.is_none() {
        return match console_write(s, fd, buf, count) {
            v if (v as isize) < 0 => Err(-(v as isize)),
            v => Ok(v as u64),
        };
    }
    let h = handle(s, fd)?;
    let offset = positioned(at)?;
    if s.sealed.has(fd) {
        return sealedio::write(s, fd, buf, count, at.map(|_| offset));
    }
    let src = or_bad_pointer(s.space.readable(buf, count));
    let n = count.min(request_room(s));
    let src = src.prefix(n);
    s.space.copy_in(&src, &mut s.utm.bytes()[BYTES_AT..BYTES_AT + n]);
    let args = [h, n as u64, offset, at.is_some() as u64];
    call(s, linux::WRITE, args, n, Some(n as u64), Bytes::None).map(|(v, _)| v)
}

fn positioned(at: Option<usize>) -> Result<u64> {
    match at {
        Some(o) if (o as isize) < 0 => Err(linux::EINVAL),
        Some(o) => Ok(o as u64),
        None => Ok(0),
    }
}

/// lseek(fd, offset, whence).
pub fn lseek(s: &mut State, fd: usize, offset: usize, whence: usize) -> Result<u64> {
    let h = handle(s, fd)?;
    if whence > linux::SEEK_END {
        return Err(linux::EINVAL);
    }
    if s.sealed.has(fd) {
        return sealedio::lseek(s, fd, offset, whence);
    }
    call(s, linux::LSEEK, [h, offset as u64, whence as u64, 0], 0, None, Bytes::None).map(|r| r.0)
}

/// fstat(fd, statbuf): the host's `struct stat`, exactly STAT_SIZE bytes.
pub fn fstat(s: &mut State, fd: usize, statbuf: usize) -> Result<u64> {
    let h = handle(s, fd)?;
    let dst = or_bad_pointer(s.space.writable(statbuf, linux::STAT_SIZE));
    let (_, range) =
        call(s, linux::FSTAT, [h, 0, 0, 0], 0, Some(0), Bytes::Exactly(linux::STAT_SIZE))?;
    let mut st = [0u8; linux::STAT_SIZE];
    st.copy_from_slice(&s.utm.bytes()[range]);
    if let Some(size) = sealedio::size(s, fd) {
        // A sealed file's size is the plaintext's (st_size; st_blocks stays the host's).
        st[48..56].copy_from_slice(&size.to_le_bytes());
    }
    s.space.copy_out(&dst, &st);
    Ok(0)
}

/// newfstatat(dirfd, path, statbuf, flags): the fstat form (an empty or
/// NULL path with AT_EMPTY_PATH), or the host's stat of a path the policy
/// grants (a sealed file's host size: its plaintext size is fstat's).
pub fn fstatat(
    s: &mut State,
    dirfd: usize,
    path: usize,
    statbuf: usize,
    flags: usize,
) -> Result<u64> {
    // Linux takes a NULL path with AT_EMPTY_PATH as "".
    if path == 0 && flags & linux::AT_EMPTY_PATH != 0 {
        return fstat(s, dirfd, statbuf);
    }
    let first = or_bad_pointer(s.space.readable(path, 1));
    let mut b = [0u8; 1];
    s.space.copy_in(&first, &mut b);
    if b[0] == 0 && flags & linux::AT_EMPTY_PATH != 0 {
        return fstat(s, dirfd, statbuf);
    }
    let dst = or_bad_pointer(s.space.writable(statbuf, linux::STAT_SIZE));
    let len = copy_path(s, dirfd, path, 0)?;
    let args = [(flags & linux::AT_SYMLINK_NOFOLLOW) as u64, 0, 0, 0];
    let (_, range) =
        call(s, linux::NEWFSTATAT, args, len, Some(0), Bytes::Exactly(linux::STAT_SIZE))?;
    s.space.copy_out(&dst, &s.utm.bytes()[range]);
    Ok(0)
}

/// unlinkat(dirfd, path, flags): the host removes a file (or an empty
/// folder with AT_REMOVEDIR) if the policy grants it writable.
pub fn unlinkat(s: &mut State, dirfd: usize, path: usize, flags: usize) -> Result<u64> {
    if flags & !linux::AT_REMOVEDIR != 0 {
        return Err(linux::EINVAL);
    }
    let len = copy_path(s, dirfd, path, 0)?;
    call(s, linux::UNLINKAT, [flags as u64, 0, 0, 0], len, Some(0), Bytes::None).map(|_| 0)
}

/// renameat2(olddirfd, old, newdirfd, new, flags) (renameat: flags 0): both
/// paths in one call, old then new; both must be granted writable.
pub fn renameat(
    s: &mut State,
    olddirfd: usize,
    old: usize,
    newdirfd: usize,
    new: usize,
    flags: usize,
) -> Result<u64> {
    let old_len = copy_path(s, olddirfd, old, 0)?;
    let new_len = copy_path(s, newdirfd, new, old_len)?;
    let args = [old_len as u64, flags as u64, 0, 0];
    call(s, linux::RENAMEAT2, args, old_len + new_len, Some(0), Bytes::None).map(|_| 0)
}

/// ftruncate(fd, length): a sealed file's own, or the host's.
pub fn ftruncate(s: &mut State, fd: usize, length: usize) -> Result<u64> {
    let h = handle(s, fd)?;
    if (length as isize) < 0 {
        return Err(linux::EINVAL);
    }
    if s.sealed.has(fd) {
        return sealedio::truncate(s, fd, length);
    }
    call(s, linux::FTRUNCATE, [h, length as u64, 0, 0], 0, Some(0), Bytes::None).map(|_| 0)
}

/// getdents64(fd, dirp, count): the host's records, each checked (length,
/// alignment, a NUL-terminated name inside it) before any is copied out.
pub fn getdents64(s: &mut State, fd: usize, dirp: usize, count: usize) -> Result<u64> {
    let h = handle(s, fd)?;
    let dst = or_bad_pointer(s.space.writable(dirp, count));
    let n = count.min(answer_room(s)).min(sealedio::SCRATCH);
    let args = [h, n as u64, 0, 0];
    let (got, range) = call(s, linux::GETDENTS64, args, 0, Some(n as u64), Bytes::Counted)?;
    // Copied into the runtime's own page first: the host could change the
    // UTM between a check there and the copy out.
    let mut n = range.len();
    let page = s.sealed.scratch();
    n = n.min(page.len());
    page[..n].copy_from_slice(&s.utm.bytes()[range.start..range.start + n]);
    let ok = files::dirents_ok(&page[..n]);
    if ok {
        s.space.copy_out(&dst.prefix(n), &s.sealed.scratch()[..n]);
    }
    s.sealed.scratch().fill(0);
    if !ok {
        return Err(linux::EIO);
    }
    Ok(got)
}

/// fcntl(fd, cmd, arg): F_GETFD/F_SETFD (FD_CLOEXEC kept here: an enclave
/// never execs), F_GETFL/F_SETFL (the host's open flags; a sealed file's
/// here), F_DUPFD(_CLOEXEC) of a plain file (a new host handle, the lowest
/// free descriptor >= arg). The console's descriptors cannot be duplicated.
pub fn fcntl(s: &mut State, fd: usize, cmd: usize, arg: usize) -> Result<u64> {
    let console = fd <= 2;
    let h = if console { None } else { Some(handle(s, fd)?) };
    let bit = 1u64.checked_shl(fd as u32).unwrap_or(0);
    match cmd {
        linux::F_GETFD => Ok(u64::from(s.cloexec & bit != 0)),
        linux::F_SETFD => {
            set_cloexec(s, fd, arg & linux::FD_CLOEXEC != 0);
            Ok(0)
        }
        linux::F_GETFL | linux::F_SETFL if s.sealed.has(fd) => sealedio::flags(s, fd, cmd, arg),
        linux::F_GETFL if console => Ok(linux::O_RDWR as u64),
        linux::F_SETFL if console => Ok(0),
        linux::F_GETFL | linux::F_SETFL => {
            let h = h.expect("a file");
            call(s, linux::FCNTL, [h, cmd as u64, arg as u64, 0], 0, None, Bytes::None).map(|r| r.0)
        }
        linux::F_DUPFD | linux::F_DUPFD_CLOEXEC => {
            let Some(h) = h else { return Err(linux::EINVAL) };
            if s.sealed.has(fd) || arg >= files::FIRST_FD + files::MAX_FILES {
                return Err(linux::EINVAL);
            }
            if !s.files.has_room_from(arg) {
                return Err(linux::EMFILE);
            }
            let args = [h, linux::F_DUPFD as u64, 0, 0];
            let (new, _) = call(s, linux::FCNTL, args, 0, None, Bytes::None)?;
            let Some(newfd) = s.files.insert_from(arg, new) else {
                return Err(linux::EMFILE);
            };
            set_cloexec(s, newfd, cmd == linux::F_DUPFD_CLOEXEC);
            Ok(newfd as u64)
        }
        _ => Err(linux::EINVAL),
    }
}

/// readv/writev(fd, iov, iovcnt): each iovec in turn until one is short.
pub fn vector(s: &mut State, fd: usize, iov: usize, count: usize, writing: bool) -> Result<u64> {
    if count > linux::IOV_MAX {
        return Err(linux::EINVAL);
    }
    let mut total = 0u64;
    for i in 0..count {
        let va = iov.checked_add(16 * i).unwrap_or_else(|| crate::syscall::bad_pointer());
        let entry = or_bad_pointer(s.space.readable(va, 16));
        let mut b = [0u8; 16];
        s.space.copy_in(&entry, &mut b);
        let base = u64::from_le_bytes(b[..8].try_into().expect("8 bytes")) as usize;
        let len = u64::from_le_bytes(b[8..].try_into().expect("8 bytes")) as usize;
        if len == 0 {
            continue;
        }
        let r = if writing { write(s, fd, base, len, None) } else { read(s, fd, base, len, None) };
        match r {
            Ok(n) => {
                total += n;
                if n < len as u64 {
                    break;
                }
            }
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(total)
}

/// ppoll(fds, nfds, ...): answered here without waiting. The console and
/// the eapp's open files are always ready (no event is reported), any
/// other descriptor is POLLNVAL: what Rust std's start-up check of fds
/// 0..2 needs.
pub fn ppoll(s: &mut State, fds: usize, nfds: usize) -> Result<u64> {
    const POLLNVAL: u16 = 0x20;
    if nfds > files::MAX_FILES + 3 {
        return Err(linux::EINVAL);
    }
    let all = or_bad_pointer(s.space.writable(fds, nfds * 8));
    let mut ready = 0;
    for i in 0..nfds {
        let entry = all.get(i * 8..i * 8 + 8).expect("inside the checked slice");
        let mut b = [0u8; 8];
        s.space.copy_in(&entry, &mut b);
        let fd = i32::from_le_bytes(b[..4].try_into().expect("4 bytes"));
        let open = fd >= 0 && (fd <= 2 || s.files.get(fd as usize).is_some());
        let revents = if open || fd < 0 { 0 } else { POLLNVAL };
        ready += u64::from(revents != 0);
        b[6..8].copy_from_slice(&revents.to_le_bytes());
        s.space.copy_out(&entry.get(6..8).expect("inside"), &b[6..8]);
    }
    Ok(ready)
}

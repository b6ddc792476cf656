//! The eapp's socket calls, proxied to the host as EDGECALL_SOCKET calls
//! (`keystone_abi::net`), and the descriptor calls (read, write, close...)
//! on a socket's descriptor. The eapp's pointers are checked as any system
//! call's (a bad one ends the enclave, BAD_POINTER), before the host is
//! asked; the host's answers are checked by `runtime::sockets` before a
//! byte reaches the eapp: a lie makes the call fail with EIO.

use crate::fileio::ret;
use crate::mem::State;
use crate::syscall::{bad_pointer, call_host, or_bad_pointer};
use keystone_abi::edge::{DATA_OFFSET, FILE_CALL_SIZE, FILE_REPLY_SIZE};
use keystone_abi::eyrie::linux;
use keystone_abi::net::{self, ADDR_BLOCK, EDGECALL_SOCKET, OPT_MAX, SOCKADDR_MAX};
use runtime::edge;
use runtime::sockets::{self, Answer};
use runtime::user::{UserSlice, Write};

type Result<T> = core::result::Result<T, isize>;

/// Where a call's bytes start in the UTM.
const BYTES_AT: usize = DATA_OFFSET + FILE_CALL_SIZE;

/// Whether system call `n` with first argument `a0` is ours: a socket
/// call, or a descriptor call on one of the eapp's sockets.
#[inline]
pub fn is_ours(s: &State, n: usize, a0: usize) -> bool {
    match n {
        net::SOCKET..=net::SHUTDOWN | net::ACCEPT4 => true,
        linux::READ
        | linux::WRITE
        | linux::READV
        | linux::WRITEV
        | linux::PREAD64
        | linux::PWRITE64
        | linux::LSEEK
        | linux::FSTAT
        | linux::NEWFSTATAT
        | linux::FCNTL
        | linux::CLOSE => s.sockets.contains(a0),
        _ => false,
    }
}

/// Answers system call `n` (one [`is_ours`] took) with arguments `a`.
pub fn dispatch(s: &mut State, n: usize, a: [usize; 6]) -> usize {
    ret(match n {
        net::SOCKET => socket(s, a[0] as u64, a[1] as u64, a[2] as u64),
        net::BIND | net::CONNECT => address_call(s, n, a[0], a[1], a[2]),
        net::LISTEN | net::SHUTDOWN => {
            plain(s, a[0])
                .and_then(|h| call(s, n, [h, a[1] as u64, 0, 0], 0, Some(0), false, false))
        }
        .map(|_| 0),
        net::ACCEPT => accept(s, a[0], a[1], a[2], 0),
        net::ACCEPT4 => accept(s, a[0], a[1], a[2], a[3]),
        net::GETSOCKNAME | net::GETPEERNAME => name(s, n, a[0], a[1], a[2]),
        net::SENDTO => send(s, a[0], a[1], a[2], a[3], a[4], a[5]),
        net::RECVFROM => recv(s, a[0], a[1], a[2], a[3], a[4], a[5]),
        net::SETSOCKOPT => setsockopt(s, a[0], a[1], a[2], a[3], a[4]),
        net::GETSOCKOPT => getsockopt(s, a[0], a[1], a[2], a[3], a[4]),
        linux::READ => recv(s, a[0], a[1], a[2], 0, 0, 0),
        linux::WRITE => send(s, a[0], a[1], a[2], 0, 0, 0),
        linux::READV => vector(s, a[0], a[1], a[2], false),
        linux::WRITEV => vector(s, a[0], a[1], a[2], true),
        linux::CLOSE => close(s, a[0]),
        linux::FCNTL => fcntl(a[1]),
        linux::PREAD64 | linux::PWRITE64 | linux::LSEEK => Err(net::ESPIPE),
        // A socket has no file status the runtime could vouch for.
        linux::FSTAT | linux::NEWFSTATAT => Err(net::EOPNOTSUPP),
        // socketpair: AF_UNIX only.
        _ => Err(net::EOPNOTSUPP),
    })
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
/// checks the answer (see `sockets::answer`).
fn call(
    s: &mut State,
    num: usize,
    args: [u64; 4],
    len: usize,
    limit: Option<u64>,
    with_addr: bool,
    counted: bool,
) -> Result<Answer> {
    let u = s.utm.bytes();
    if u.len() < BYTES_AT + ADDR_BLOCK {
        return Err(linux::EIO);
    }
    u[DATA_OFFSET..DATA_OFFSET + 8].copy_from_slice(&(num as u64).to_le_bytes());
    for (i, a) in args.iter().enumerate() {
        let at = DATA_OFFSET + 8 + 8 * i;
        u[at..at + 8].copy_from_slice(&a.to_le_bytes());
    }
    let answer =
        call_host(&mut s.utm, EDGECALL_SOCKET, FILE_CALL_SIZE + len).map_err(|_| linux::EIO)?;
    sockets::answer(s.utm.bytes(), &answer, limit, with_addr, counted)
}

/// The host's handle of socket `fd`.
fn plain(s: &State, fd: usize) -> Result<u64> {
    if !s.sockets.contains(fd) {
        return Err(if s.files.get(fd).is_some() || fd <= 2 {
            net::ENOTSOCK
        } else {
            linux::EBADF
        });
    }
    s.files.get(fd).ok_or(linux::EBADF)
}

/// A new socket's handle from the host, as a descriptor of the eapp's; a
/// handle that already names an open socket is a lie (EIO).
fn new_socket(s: &mut State, handle: u64) -> Result<u64> {
    if s.sockets.holds_handle(&s.files, handle) {
        return Err(linux::EIO);
    }
    let fd = s.files.insert(handle).ok_or(linux::EMFILE)?;
    s.sockets.insert(fd);
    Ok(fd as u64)
}

/// socket(domain, type, protocol).
fn socket(s: &mut State, domain: u64, kind: u64, protocol: u64) -> Result<u64> {
    sockets::check_socket(domain, kind)?;
    if !s.files.has_room() {
        return Err(linux::EMFILE);
    }
    let a = call(s, net::SOCKET, [domain, kind, protocol, 0], 0, None, false, false)?;
    new_socket(s, a.value)
}

/// Copies the eapp's address (`addr`, `len` bytes) into the UTM at `at`.
fn address_in(s: &mut State, addr: usize, len: usize, at: usize) -> Result<usize> {
    let len = sockets::check_addr_len(len)?;
    let src = or_bad_pointer(s.space.readable(addr, len));
    s.space.copy_in(&src, &mut s.utm.bytes()[at..at + len]);
    Ok(len)
}

/// bind/connect(fd, addr, len).
fn address_call(s: &mut State, n: usize, fd: usize, addr: usize, len: usize) -> Result<u64> {
    let h = plain(s, fd)?;
    let len = address_in(s, addr, len, BYTES_AT)?;
    call(s, n, [h, 0, 0, 0], len, Some(0), false, false).map(|_| 0)
}

/// Where the eapp wants an address written: its buffer (as long as the
/// length it gave, checked now) and its length word; None for a NULL
/// address.
struct AddrOut {
    buf: UserSlice<Write>,
    len_word: UserSlice<Write>,
}

fn addr_out(s: &mut State, addr: usize, len_ptr: usize) -> Option<AddrOut> {
    if addr == 0 {
        return None;
    }
    let len_word = or_bad_pointer(s.space.writable(len_ptr, 4));
    let mut b = [0u8; 4];
    s.space.copy_in(&len_word, &mut b);
    let room = (u32::from_le_bytes(b) as usize).min(SOCKADDR_MAX);
    Some(AddrOut { buf: or_bad_pointer(s.space.writable(addr, room)), len_word })
}

/// Writes the answer's address into `out` (cut to the eapp's buffer) and
/// its whole length into the length word, as Linux does.
fn write_addr(s: &mut State, out: &Option<AddrOut>, a: &Answer) {
    let Some(out) = out else { return };
    let n = a.addr.len().min(out.buf.len());
    let dst = out.buf.prefix(n);
    let src = a.addr.start..a.addr.start + n;
    s.space.copy_out(&dst, &s.utm.bytes()[src]);
    s.space.copy_out(&out.len_word, &(a.addr.len() as u32).to_le_bytes());
}

/// accept/accept4(fd, addr, len, flags).
fn accept(s: &mut State, fd: usize, addr: usize, len_ptr: usize, flags: usize) -> Result<u64> {
    let h = plain(s, fd)?;
    if flags as u64 & !net::SOCK_CLOEXEC != 0 {
        return Err(linux::EINVAL);
    }
    let out = addr_out(s, addr, len_ptr);
    if !s.files.has_room() {
        return Err(linux::EMFILE);
    }
    let a = call(s, net::ACCEPT4, [h, flags as u64, 0, 0], 0, None, true, false)?;
    let new = new_socket(s, a.value)?;
    write_addr(s, &out, &a);
    Ok(new)
}

/// getsockname/getpeername(fd, addr, len).
fn name(s: &mut State, n: usize, fd: usize, addr: usize, len_ptr: usize) -> Result<u64> {
    let h = plain(s, fd)?;
    let out = addr_out(s, addr, len_ptr);
    if out.is_none() {
        return Err(linux::EFAULT);
    }
    let a = call(s, n, [h, 0, 0, 0], 0, Some(0), true, false)?;
    write_addr(s, &out, &a);
    Ok(0)
}

/// sendto(fd, buf, count, flags, addr, len) (write: no flags, no address):
/// at most what one call holds.
fn send(
    s: &mut State,
    fd: usize,
    buf: usize,
    count: usize,
    flags: usize,
    addr: usize,
    len: usize,
) -> Result<u64> {
    let h = plain(s, fd)?;
    let src = or_bad_pointer(s.space.readable(buf, count));
    let block = s.utm.bytes().get_mut(BYTES_AT..BYTES_AT + ADDR_BLOCK).ok_or(linux::EIO)?;
    block.fill(0);
    let with_addr = addr != 0;
    if with_addr {
        let n = address_in(s, addr, len, BYTES_AT + 8)?;
        s.utm.bytes()[BYTES_AT..BYTES_AT + 8].copy_from_slice(&(n as u64).to_le_bytes());
    }
    let n = count.min(request_room(s).saturating_sub(ADDR_BLOCK));
    let at = BYTES_AT + ADDR_BLOCK;
    s.space.copy_in(&src.prefix(n), &mut s.utm.bytes()[at..at + n]);
    let args = [h, n as u64, flags as u64, with_addr as u64];
    call(s, net::SENDTO, args, ADDR_BLOCK + n, Some(n as u64), false, false).map(|a| a.value)
}

/// recvfrom(fd, buf, count, flags, addr, len) (read: no flags, no address):
/// at most what one answer holds.
fn recv(
    s: &mut State,
    fd: usize,
    buf: usize,
    count: usize,
    flags: usize,
    addr: usize,
    len_ptr: usize,
) -> Result<u64> {
    let h = plain(s, fd)?;
    let dst = or_bad_pointer(s.space.writable(buf, count));
    let out = addr_out(s, addr, len_ptr);
    let n = count.min(answer_room(s).saturating_sub(ADDR_BLOCK));
    let a = call(s, net::RECVFROM, [h, n as u64, flags as u64, 0], 0, Some(n as u64), true, true)?;
    s.space.copy_out(&dst.prefix(a.data.len()), &s.utm.bytes()[a.data.clone()]);
    write_addr(s, &out, &a);
    Ok(a.value)
}

/// setsockopt(fd, level, name, value, len): only the options of
/// `net::OPTIONS`, with their exact length (ENOPROTOOPT, EINVAL).
fn setsockopt(
    s: &mut State,
    fd: usize,
    level: usize,
    opt: usize,
    val: usize,
    len: usize,
) -> Result<u64> {
    let h = plain(s, fd)?;
    let want = net::option_len(level as u64, opt as u64).ok_or(net::ENOPROTOOPT)?;
    if len < want || want > OPT_MAX {
        return Err(linux::EINVAL);
    }
    let src = or_bad_pointer(s.space.readable(val, want));
    s.space.copy_in(&src, &mut s.utm.bytes()[BYTES_AT..BYTES_AT + want]);
    let args = [h, level as u64, opt as u64, want as u64];
    call(s, net::SETSOCKOPT, args, want, Some(0), false, false).map(|_| 0)
}

/// getsockopt(fd, level, name, value, len_ptr): the host's value, no longer
/// than the eapp's buffer.
fn getsockopt(
    s: &mut State,
    fd: usize,
    level: usize,
    opt: usize,
    val: usize,
    len_ptr: usize,
) -> Result<u64> {
    let h = plain(s, fd)?;
    net::option_len(level as u64, opt as u64).ok_or(net::ENOPROTOOPT)?;
    let len_word = or_bad_pointer(s.space.writable(len_ptr, 4));
    let mut b = [0u8; 4];
    s.space.copy_in(&len_word, &mut b);
    let room = (u32::from_le_bytes(b) as usize).min(OPT_MAX);
    let dst = or_bad_pointer(s.space.writable(val, room));
    let args = [h, level as u64, opt as u64, room as u64];
    let a = call(s, net::GETSOCKOPT, args, 0, Some(room as u64), false, true)?;
    s.space.copy_out(&dst.prefix(a.data.len()), &s.utm.bytes()[a.data.clone()]);
    s.space.copy_out(&len_word, &(a.value as u32).to_le_bytes());
    Ok(0)
}

/// close(fd) of a socket: freed here whatever the host answers.
fn close(s: &mut State, fd: usize) -> Result<u64> {
    let h = plain(s, fd)?;
    s.files.remove(fd);
    s.sockets.remove(fd);
    call(s, linux::CLOSE, [h, 0, 0, 0], 0, Some(0), false, false).map(|_| 0)
}

/// fcntl(fd, cmd, ...) on a socket: the descriptor flags read as none and
/// setting them is accepted (the enclave never execs); the status flags
/// read as O_RDWR and cannot be changed (no non-blocking sockets).
fn fcntl(cmd: usize) -> Result<u64> {
    const F_GETFD: usize = 1;
    const F_SETFD: usize = 2;
    const F_GETFL: usize = 3;
    match cmd {
        F_GETFD | F_SETFD => Ok(0),
        F_GETFL => Ok(linux::O_RDWR as u64),
        _ => Err(linux::EINVAL),
    }
}

/// readv/writev(fd, iov, iovcnt) on a socket: each iovec in turn until one
/// is short.
fn vector(s: &mut State, fd: usize, iov: usize, count: usize, writing: bool) -> Result<u64> {
    if count > linux::IOV_MAX {
        return Err(linux::EINVAL);
    }
    let mut total = 0u64;
    for i in 0..count {
        let va = iov.checked_add(16 * i).unwrap_or_else(|| bad_pointer());
        let entry = or_bad_pointer(s.space.readable(va, 16));
        let mut b = [0u8; 16];
        s.space.copy_in(&entry, &mut b);
        let base = u64::from_le_bytes(b[..8].try_into().expect("8 bytes")) as usize;
        let len = u64::from_le_bytes(b[8..].try_into().expect("8 bytes")) as usize;
        if len == 0 {
            continue;
        }
        let r =
            if writing { send(s, fd, base, len, 0, 0, 0) } else { recv(s, fd, base, len, 0, 0, 0) };
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

//! The libc socket calls the socket server needs, declared here (std links
//! libc). Every `unsafe` of the socket server is in this module: each call
//! takes a descriptor the server owns and Rust slices, never raw pointers.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

unsafe extern "C" {
    fn socket(domain: i32, kind: i32, protocol: i32) -> i32;
    fn bind(fd: i32, addr: *const u8, len: u32) -> i32;
    fn connect(fd: i32, addr: *const u8, len: u32) -> i32;
    fn listen(fd: i32, backlog: i32) -> i32;
    fn accept4(fd: i32, addr: *mut u8, len: *mut u32, flags: i32) -> i32;
    fn sendto(fd: i32, buf: *const u8, n: usize, flags: i32, addr: *const u8, len: u32) -> isize;
    fn recvfrom(fd: i32, buf: *mut u8, n: usize, flags: i32, addr: *mut u8, len: *mut u32)
        -> isize;
    fn setsockopt(fd: i32, level: i32, name: i32, val: *const u8, len: u32) -> i32;
    fn getsockopt(fd: i32, level: i32, name: i32, val: *mut u8, len: *mut u32) -> i32;
    fn getsockname(fd: i32, addr: *mut u8, len: *mut u32) -> i32;
    fn getpeername(fd: i32, addr: *mut u8, len: *mut u32) -> i32;
    fn shutdown(fd: i32, how: i32) -> i32;
}

/// The longest address (`sizeof(struct sockaddr_storage)`).
pub(crate) const ADDR_MAX: usize = 128;

fn check(rc: isize) -> io::Result<usize> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc as usize)
    }
}

fn len32(b: &[u8]) -> u32 {
    b.len().min(u32::MAX as usize) as u32
}

/// A new socket, owned.
pub(crate) fn new_socket(domain: i32, kind: i32, protocol: i32) -> io::Result<OwnedFd> {
    // SAFETY: socket takes no pointers.
    let fd = check(unsafe { socket(domain, kind, protocol) } as isize)?;
    // SAFETY: `fd` is the fresh descriptor socket just made; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// bind (or connect when `connecting`) to the address bytes `addr`.
pub(crate) fn bind_or_connect(fd: &OwnedFd, addr: &[u8], connecting: bool) -> io::Result<()> {
    let f = if connecting { connect } else { bind };
    // SAFETY: the kernel reads at most `len32(addr)` bytes of `addr`.
    check(unsafe { f(fd.as_raw_fd(), addr.as_ptr(), len32(addr)) } as isize).map(|_| ())
}

pub(crate) fn listen_on(fd: &OwnedFd, backlog: i32) -> io::Result<()> {
    // SAFETY: listen takes no pointers.
    check(unsafe { listen(fd.as_raw_fd(), backlog) } as isize).map(|_| ())
}

/// accept4: the new socket and its peer's address (as long as the kernel
/// says, cut to ADDR_MAX).
pub(crate) fn accept_on(fd: &OwnedFd, flags: i32) -> io::Result<(OwnedFd, Vec<u8>)> {
    let mut addr = vec![0u8; ADDR_MAX];
    let mut len = ADDR_MAX as u32;
    // SAFETY: the kernel writes at most `len` (ADDR_MAX) bytes to `addr`
    // and the u32 `len`.
    let new =
        check(unsafe { accept4(fd.as_raw_fd(), addr.as_mut_ptr(), &mut len, flags) } as isize)?;
    // SAFETY: `new` is the fresh descriptor accept4 just made.
    let new = unsafe { OwnedFd::from_raw_fd(new as i32) };
    addr.truncate((len as usize).min(ADDR_MAX));
    Ok((new, addr))
}

/// getsockname (or getpeername when `peer`).
pub(crate) fn name_of(fd: &OwnedFd, peer: bool) -> io::Result<Vec<u8>> {
    let f = if peer { getpeername } else { getsockname };
    let mut addr = vec![0u8; ADDR_MAX];
    let mut len = ADDR_MAX as u32;
    // SAFETY: the kernel writes at most `len` bytes to `addr`, and `len`.
    check(unsafe { f(fd.as_raw_fd(), addr.as_mut_ptr(), &mut len) } as isize)?;
    addr.truncate((len as usize).min(ADDR_MAX));
    Ok(addr)
}

/// sendto: `addr` empty for none.
pub(crate) fn send_to(fd: &OwnedFd, data: &[u8], flags: i32, addr: &[u8]) -> io::Result<usize> {
    let a = if addr.is_empty() { std::ptr::null() } else { addr.as_ptr() };
    // SAFETY: the kernel reads at most data.len() bytes of `data` and
    // len32(addr) of `addr` (none when it is NULL).
    check(unsafe { sendto(fd.as_raw_fd(), data.as_ptr(), data.len(), flags, a, len32(addr)) })
}

/// recvfrom into `buf`: the count and the sender's address (empty when
/// the socket gives none).
pub(crate) fn recv_from(fd: &OwnedFd, buf: &mut [u8], flags: i32) -> io::Result<(usize, Vec<u8>)> {
    let mut addr = vec![0u8; ADDR_MAX];
    let mut len = ADDR_MAX as u32;
    // SAFETY: the kernel writes at most buf.len() bytes to `buf`, at most
    // `len` (ADDR_MAX) to `addr`, and `len`.
    let n = check(unsafe {
        recvfrom(fd.as_raw_fd(), buf.as_mut_ptr(), buf.len(), flags, addr.as_mut_ptr(), &mut len)
    })?;
    addr.truncate((len as usize).min(ADDR_MAX));
    Ok((n, addr))
}

pub(crate) fn set_option(fd: &OwnedFd, level: i32, name: i32, val: &[u8]) -> io::Result<()> {
    // SAFETY: the kernel reads at most len32(val) bytes of `val`.
    check(unsafe { setsockopt(fd.as_raw_fd(), level, name, val.as_ptr(), len32(val)) } as isize)
        .map(|_| ())
}

/// getsockopt: at most `room` bytes of the value.
pub(crate) fn get_option(fd: &OwnedFd, level: i32, name: i32, room: usize) -> io::Result<Vec<u8>> {
    let mut val = vec![0u8; room];
    let mut len = len32(&val);
    // SAFETY: the kernel writes at most `len` bytes to `val`, and `len`.
    check(unsafe { getsockopt(fd.as_raw_fd(), level, name, val.as_mut_ptr(), &mut len) } as isize)?;
    val.truncate((len as usize).min(room));
    Ok(val)
}

pub(crate) fn shutdown_of(fd: &OwnedFd, how: i32) -> io::Result<()> {
    // SAFETY: shutdown takes no pointers.
    check(unsafe { shutdown(fd.as_raw_fd(), how) } as isize).map(|_| ())
}

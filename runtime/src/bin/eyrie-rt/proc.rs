//! The process system calls a static glibc program makes that need no host:
//! futex (one thread: nobody else waits or wakes), uname, the user and group
//! ids, gettid, set_robust_list, prlimit64 and getcwd; and readlinkat,
//! which asks the host's file server whether the path is there, and the
//! path form of newfstatat (open, fstat, close through the host) and
//! faccessat likewise; a minimal fcntl; mprotect that grants; and the
//! signals the enclave sends itself. The enclave is one
//! process of one thread run by a nameless user in the folder `/`.

use crate::fileio;
use crate::mem::State;
use crate::syscall::or_bad_pointer;
use keystone_abi::eyrie::linux;
use runtime::arch::exit_enclave;
use runtime::pt::flags;
use runtime::user::{UserSlice, Write};
use runtime::PAGE_SIZE;

/// The numbers of the calls answered here (riscv64's, asm-generic).
pub mod nr {
    pub const GETCWD: usize = 17;
    pub const FACCESSAT: usize = 48;
    pub const READLINKAT: usize = 78;
    pub const FACCESSAT2: usize = 439;
    pub const KILL: usize = 129;
    pub const TKILL: usize = 130;
    pub const TGKILL: usize = 131;
    pub const FUTEX: usize = 98;
    pub const SET_ROBUST_LIST: usize = 99;
    pub const UNAME: usize = 160;
    pub const GETUID: usize = 174;
    pub const GETEUID: usize = 175;
    pub const GETGID: usize = 176;
    pub const GETEGID: usize = 177;
    pub const GETTID: usize = 178;
    pub const PRLIMIT64: usize = 261;
}

/// The futex operations (the command's low bits; PRIVATE and CLOCK_REALTIME
/// are flags above them).
const FUTEX_CMD_MASK: usize = 0x7f;
const FUTEX_WAIT: usize = 0;
const FUTEX_WAKE: usize = 1;
const FUTEX_WAIT_BITSET: usize = 9;
const FUTEX_WAKE_BITSET: usize = 10;
const EAGAIN: isize = 11;
const EDEADLK: isize = 35;
const ETIMEDOUT: isize = 110;
const ERANGE: isize = 34;
const EPERM: isize = 1;

fn neg(errno: isize) -> usize {
    (-errno) as usize
}

/// futex(uaddr, op, val, timeout): the enclave has one thread, so a wake
/// finds nobody (0 woken) and a wait on a word that holds `val` could never
/// end: with a timeout it times out, without one it is refused (EDEADLK,
/// which glibc reports, rather than a hang). A word that changed is EAGAIN,
/// as on Linux.
pub fn futex(s: &mut State, uaddr: usize, op: usize, val: usize, timeout: usize) -> usize {
    match op & FUTEX_CMD_MASK {
        FUTEX_WAKE | FUTEX_WAKE_BITSET => 0,
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            let word = or_bad_pointer(s.space.readable(uaddr, 4));
            let mut b = [0u8; 4];
            s.space.copy_in(&word, &mut b);
            if u32::from_le_bytes(b) != val as u32 {
                neg(EAGAIN)
            } else if timeout != 0 {
                neg(ETIMEDOUT)
            } else {
                neg(EDEADLK)
            }
        }
        _ => neg(linux::ENOSYS),
    }
}

fn copy_out(s: &mut State, va: usize, bytes: &[u8]) {
    let dst: UserSlice<Write> = or_bad_pointer(s.space.writable(va, bytes.len()));
    s.space.copy_out(&dst, bytes);
}

/// uname(buf): six 65-byte fields (sysname, nodename, release, version,
/// machine, domainname).
pub fn uname(s: &mut State, buf: usize) -> usize {
    const FIELD: usize = 65;
    let fields: [&[u8]; 6] =
        [b"Linux", b"enclave", b"6.1.0", b"#1 keystone-rs eyrie-rt", b"riscv64", b"(none)"];
    let mut out = [0u8; FIELD * 6];
    for (i, f) in fields.iter().enumerate() {
        out[i * FIELD..i * FIELD + f.len()].copy_from_slice(f);
    }
    copy_out(s, buf, &out);
    0
}

/// getcwd(buf, size): the enclave's folder is `/` (relative paths reach the
/// host's file server as they are).
pub fn getcwd(s: &mut State, buf: usize, size: usize) -> usize {
    const CWD: &[u8] = b"/\0";
    if size < CWD.len() {
        return neg(ERANGE);
    }
    copy_out(s, buf, CWD);
    CWD.len()
}

/// prlimit64(pid, resource, new, old): no limits to set; every old limit is
/// RLIM_INFINITY (the enclave's memory is bounded by its pages, not rlimits).
pub fn prlimit64(s: &mut State, new: usize, old: usize) -> usize {
    if new != 0 {
        return neg(EPERM);
    }
    if old != 0 {
        copy_out(s, old, &[0xff; 16]);
    }
    0
}

/// readlinkat(dirfd, path, buf, size): the host's file server follows
/// symbolic links itself (its policy compares resolved paths), so the
/// enclave sees none: a path the host opens for reading is "not a link"
/// (EINVAL, which glibc's realpath takes as a plain component); one it
/// cannot open gives the open's error (ENOENT, EACCES, ...).
pub fn readlinkat(s: &mut State, dirfd: usize, path: usize) -> usize {
    match fileio::openat(s, dirfd, path, linux::O_RDONLY | linux::O_CLOEXEC, 0) {
        Ok(fd) => {
            let _ = fileio::close(s, fd as usize);
            neg(linux::EINVAL)
        }
        Err(e) => neg(e),
    }
}

/// faccessat/faccessat2(dirfd, path, mode, flags): whether the host opens
/// the path for reading (F_OK, R_OK) and for writing (W_OK: opened, not
/// created or truncated); nothing in an enclave can be executed (X_OK is
/// EACCES).
pub fn faccessat(s: &mut State, dirfd: usize, path: usize, mode: usize) -> usize {
    const W_OK: usize = 2;
    const X_OK: usize = 1;
    let mut flags = [Some(linux::O_RDONLY), None];
    if mode & W_OK != 0 {
        flags[1] = Some(linux::O_WRONLY);
    }
    for f in flags.into_iter().flatten() {
        match fileio::openat(s, dirfd, path, f | linux::O_CLOEXEC, 0) {
            Ok(fd) => {
                let _ = fileio::close(s, fd as usize);
            }
            Err(e) => return neg(e),
        }
    }
    if mode & X_OK != 0 {
        return neg(linux::EACCES);
    }
    0
}

/// kill/tkill/tgkill: the only process is the enclave, and it runs no
/// signal handlers, so a signal sent (to itself) takes its default action:
/// the enclave ends with 128 + the signal, the status a shell shows for a
/// process a signal killed (abort() ends so: 134). Signal 0 only asks
/// whether the process exists: it does.
pub fn kill_self(sig: usize) -> usize {
    if sig == 0 {
        return 0;
    }
    if sig > 64 {
        return neg(linux::EINVAL);
    }
    exit_enclave(128 + sig)
}

/// mprotect(addr, len, prot): grants the eapp's mapped pages of the range
/// PROT_WRITE and PROT_EXEC when asked (glibc maps a thread's stack
/// PROT_NONE, then opens it so); taking a permission away stays a no-op,
/// as before. Granting to a page of the range that is not mapped is ENOMEM.
pub fn mprotect(s: &mut State, addr: usize, len: usize, prot: usize) -> usize {
    const PROT_WRITE: usize = 2;
    const PROT_EXEC: usize = 4;
    let Some(end) = addr.checked_add(len) else { return neg(linux::EINVAL) };
    if addr % PAGE_SIZE != 0 || end > keystone_abi::eyrie::vm::USER_TOP {
        return neg(linux::EINVAL);
    }
    let perms = if prot & PROT_WRITE != 0 { flags::W } else { 0 }
        | if prot & PROT_EXEC != 0 { flags::X } else { 0 };
    if perms == 0 {
        return 0;
    }
    let mut va = addr;
    while va < end {
        match s.space.translate(va) {
            Some((_, have)) if have & flags::U != 0 => {
                s.space.add_perms(va, perms);
            }
            _ => return neg(linux::ENOMEM),
        }
        va += PAGE_SIZE;
    }
    runtime::arch::sfence_vma();
    0
}

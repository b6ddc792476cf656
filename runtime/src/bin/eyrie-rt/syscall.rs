//! The eapp's system calls: Keystone's (ocall, copy_from_shared, attest,
//! sealing key, exit) and the Linux ones a no_std or musl-style eapp needs.
//! A pointer that is not the eapp's own memory ends the enclave with
//! BAD_POINTER; an untrusted answer from the host that fails its checks makes
//! the call fail.

use crate::mem::{with_state, State, Utm};
use crate::proc::nr::*;
use crate::{fileio, netio, proc};
use keystone_abi::edge::{EdgeCall, SyscallWrite, DATA_OFFSET, EDGECALL_SYSCALL, EDGE_CALL_SIZE};
use keystone_abi::eyrie::{exit_code, linux, syscall as ks, TIMEBASE_HZ};
use keystone_abi::sm::{fid, report};
use runtime::arch::{self, exit_enclave};
use runtime::edge;
use runtime::pt::PhysMem;
use runtime::user::{BadPointer, UserSlice, Write};

/// Where the host's status word sits in the edge-call header.
const STATUS_OFFSET: usize = core::mem::offset_of!(EdgeCall, return_data.call_status);

/// Returned by Keystone's calls when they fail (as Eyrie: 1).
const FAILED: usize = 1;

fn neg(errno: isize) -> usize {
    (-errno) as usize
}

/// Ends the enclave: the eapp named memory that is not its own.
pub(crate) fn bad_pointer() -> ! {
    exit_enclave(exit_code::BAD_POINTER)
}

/// The checked slice, or the end of the enclave (BAD_POINTER).
pub(crate) fn or_bad_pointer<A: runtime::user::Access>(
    r: Result<UserSlice<A>, BadPointer>,
) -> UserSlice<A> {
    r.unwrap_or_else(|BadPointer| bad_pointer())
}

/// Answers the system call in the eapp's registers `x` (number in a7,
/// arguments in a0..a5); the value goes to a0. The ocall, the call an eapp
/// makes most, is decoded first, and each path is its own function so the
/// trap path saves only the registers the call it makes needs.
#[inline(always)]
pub fn dispatch(x: &[usize; 32]) -> usize {
    if x[17] == ks::OCALL {
        return ocall_call(x);
    }
    dispatch_other(x[17], [x[10], x[11], x[12], x[13], x[14], x[15]])
}

/// The ocall: arguments from a0..a4.
#[inline(never)]
fn ocall_call(x: &[usize; 32]) -> usize {
    with_state(|s| ocall(s, x[10] as u64, x[11], x[12], x[13], x[14]))
}

/// Every system call but the ocall.
#[inline(never)]
fn dispatch_other(n: usize, a: [usize; 6]) -> usize {
    with_state(|s| match n {
        ks::EXIT | linux::EXIT | linux::EXIT_GROUP => exit_enclave(a[0]),
        ks::SHAREDCOPY => copy_from_shared(s, a[0], a[1] as u64, a[2] as u64),
        ks::ATTEST_ENCLAVE => attest(s, a[0], a[1], a[2]),
        ks::GET_SEALING_KEY => sealing_key(s, a[0], a[1], a[2], a[3]),
        ks::MAP_RING => s.map_ring(a[0]) as usize,
        _ if netio::is_ours(s, n, a[0]) => netio::dispatch(s, n, a),
        linux::WRITE => fileio::ret(fileio::write(s, a[0], a[1], a[2], None)),
        linux::PWRITE64 => fileio::ret(fileio::write(s, a[0], a[1], a[2], Some(a[3]))),
        linux::READ => fileio::ret(fileio::read(s, a[0], a[1], a[2], None)),
        linux::PREAD64 => fileio::ret(fileio::read(s, a[0], a[1], a[2], Some(a[3]))),
        linux::OPENAT => fileio::ret(fileio::openat(s, a[0], a[1], a[2], a[3])),
        linux::CLOSE => fileio::ret(fileio::close(s, a[0])),
        linux::LSEEK => fileio::ret(fileio::lseek(s, a[0], a[1], a[2])),
        linux::FSTAT => fileio::ret(fileio::fstat(s, a[0], a[1])),
        linux::NEWFSTATAT => fileio::ret(fileio::fstatat(s, a[0], a[1], a[2], a[3])),
        linux::READV => fileio::ret(fileio::vector(s, a[0], a[1], a[2], false)),
        linux::WRITEV => fileio::ret(fileio::vector(s, a[0], a[1], a[2], true)),
        linux::IOCTL => neg(linux::ENOTTY),
        linux::UNLINKAT => fileio::ret(fileio::unlinkat(s, a[0], a[1], a[2])),
        linux::RENAMEAT => fileio::ret(fileio::renameat(s, a[0], a[1], a[2], a[3], 0)),
        linux::RENAMEAT2 => fileio::ret(fileio::renameat(s, a[0], a[1], a[2], a[3], a[4])),
        linux::FTRUNCATE => fileio::ret(fileio::ftruncate(s, a[0], a[1])),
        linux::GETDENTS64 => fileio::ret(fileio::getdents64(s, a[0], a[1], a[2])),
        linux::FCNTL => fileio::ret(fileio::fcntl(s, a[0], a[1], a[2])),
        linux::PPOLL => fileio::ret(fileio::ppoll(s, a[0], a[1])),
        linux::BRK => s.set_brk(a[0]),
        linux::MMAP => s.mmap(a[1], a[2], a[3], a[4] as isize) as usize,
        linux::MUNMAP => s.munmap(a[0], a[1]) as usize,
        linux::MPROTECT => proc::mprotect(s, a[0], a[1], a[2]),
        linux::RT_SIGACTION | linux::RT_SIGPROCMASK => 0,
        linux::SET_TID_ADDRESS | linux::GETPID => 1,
        linux::GETRANDOM => getrandom(s, a[0], a[1]),
        linux::CLOCK_GETTIME => clock_gettime(s, a[1]),
        FUTEX => proc::futex(s, a[0], a[1], a[2], a[3]),
        UNAME => proc::uname(s, a[0]),
        GETCWD => proc::getcwd(s, a[0], a[1]),
        READLINKAT => proc::readlinkat(s, a[0], a[1]),
        FACCESSAT | FACCESSAT2 => proc::faccessat(s, a[0], a[1], a[2]),
        PRLIMIT64 => proc::prlimit64(s, a[2], a[3]),
        GETUID | GETEUID | GETGID | GETEGID | SET_ROBUST_LIST => 0,
        GETTID => 1,
        KILL | TKILL | TGKILL => proc::kill_self(a[if n == TGKILL { 2 } else { 1 }]),
        _ => neg(linux::ENOSYS),
    })
}

/// Writes the edge-call header and stops for the host; Err if the SM refused.
fn post(utm: &mut Utm, id: u64, len: usize) -> Result<(), ()> {
    let call = edge::request(utm.size(), id, len).map_err(|_| ())?;
    write_header(utm, &call);
    if utm.stop_for_host().error != 0 {
        return Err(());
    }
    Ok(())
}

/// Writes the edge-call header, stops for the host, and reads its answer.
pub(crate) fn call_host(utm: &mut Utm, id: u64, len: usize) -> Result<EdgeCall, ()> {
    post(utm, id, len)?;
    Ok(read_header(utm))
}

/// The status word of the host's answer (the UTM holds a header: `post` checked).
fn answer_status(utm: &mut Utm) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&utm.bytes()[STATUS_OFFSET..STATUS_OFFSET + 8]);
    u64::from_le_bytes(b)
}

fn write_header(utm: &mut Utm, call: &EdgeCall) {
    // SAFETY: EdgeCall is repr(C) plain u64s (no padding), EDGE_CALL_SIZE
    // bytes; the slice borrows `call` for its life.
    let bytes = unsafe {
        core::slice::from_raw_parts(call as *const EdgeCall as *const u8, EDGE_CALL_SIZE)
    };
    // The UTM holds at least the header (checked by edge::request).
    utm.bytes()[..EDGE_CALL_SIZE].copy_from_slice(bytes);
}

fn read_header(utm: &mut Utm) -> EdgeCall {
    let mut call = EdgeCall::default();
    // SAFETY: as in `write_header`; any bit pattern is a valid EdgeCall.
    let bytes = unsafe {
        core::slice::from_raw_parts_mut(&mut call as *mut EdgeCall as *mut u8, EDGE_CALL_SIZE)
    };
    bytes.copy_from_slice(&utm.bytes()[..EDGE_CALL_SIZE]);
    call
}

/// ocall(id, data, len, ret_buf, ret_len): 0, or 1 if the host failed it.
/// The checks and copies of non-empty buffers are out of line, so a call
/// without them (a notification, or a call answered in the UTM) runs only
/// the header write, the switch and the status check.
fn ocall(s: &mut State, id: u64, data: usize, len: usize, ret: usize, ret_len: usize) -> usize {
    if len > edge::data_capacity(s.utm.size()) {
        return FAILED;
    }
    let ret = if ret_len > 0 { Some(checked_reply_buffer(s, ret, ret_len)) } else { None };
    if len > 0 {
        copy_args(s, data, len);
    }
    if post(&mut s.utm, id, len).is_err()
        || answer_status(&mut s.utm) != keystone_abi::edge::status::OK
    {
        return FAILED;
    }
    match ret {
        Some(ret) => copy_reply(s, &ret),
        None => 0,
    }
}

/// The eapp's buffer for the answer, checked before the host is called
/// (the enclave ends with BAD_POINTER if it is not the eapp's to write).
#[inline(never)]
fn checked_reply_buffer(s: &mut State, ret: usize, ret_len: usize) -> UserSlice<Write> {
    or_bad_pointer(s.space.writable(ret, ret_len))
}

/// Copies the eapp's `len` argument bytes at `data` into the UTM's data area.
#[inline(never)]
fn copy_args(s: &mut State, data: usize, len: usize) {
    let args = or_bad_pointer(s.space.readable(data, len));
    s.space.copy_in(&args, &mut s.utm.bytes()[DATA_OFFSET..DATA_OFFSET + len]);
}

/// Copies the host's answer, once its range is checked, into the eapp's
/// buffer. The header is read once: the checked copy is the one used.
#[inline(never)]
fn copy_reply(s: &mut State, ret: &UserSlice<Write>) -> usize {
    let answer = read_header(&mut s.utm);
    let Ok(range) = edge::reply(s.utm.size(), &answer) else { return FAILED };
    let ret = ret.prefix(range.len());
    s.space.copy_out(&ret, &s.utm.bytes()[range.start..range.start + ret.len()]);
    0
}

/// copy_from_shared(dst, offset, len): 0, or 1 if the range is not in the UTM.
fn copy_from_shared(s: &mut State, dst: usize, offset: u64, len: u64) -> usize {
    let Some(range) = edge::shared_range(s.utm.size(), offset, len) else { return FAILED };
    let dst = or_bad_pointer(s.space.writable(dst, range.len()));
    s.space.copy_out(&dst, &s.utm.bytes()[range]);
    0
}

/// attest_enclave(report, data, size): the SM's error code; the report is
/// copied out only on success.
fn attest(s: &mut State, report_va: usize, data: usize, size: usize) -> usize {
    if size > report::DATA_MAX {
        return keystone_abi::sm::err::ILLEGAL_ARGUMENT;
    }
    let out = or_bad_pointer(s.space.writable(report_va, report::REPORT));
    let data = or_bad_pointer(s.space.readable(data, size));
    let (a, b) = (s.copy.a, s.copy.b);
    s.copy_in_to_page(&data, b);
    // The SM reads and writes ATTEST's buffers through the runtime's own
    // translation (as Eyrie passes its copy buffers' virtual addresses).
    let (va_a, va_b) = (s.space.mem().va(a), s.space.mem().va(b));
    // SAFETY: a and b are the runtime's copy pages, whole pages of its free
    // memory with no reference to them live; the SM writes a report
    // (REPORT < a page) at a and reads `size` <= DATA_MAX bytes at b.
    let r = unsafe { arch::sm_call(fid::ATTEST_ENCLAVE, va_a, va_b, size) };
    if r.error == 0 {
        s.copy_out_of_page(a, &out);
    }
    s.space.mem().page(a).fill(0);
    r.error
}

/// get_sealing_key(key, key_size, ident, ident_len): the SM's error code.
fn sealing_key(
    s: &mut State,
    key: usize,
    key_size: usize,
    ident: usize,
    ident_len: usize,
) -> usize {
    if key_size < report::SEALING_KEY_STRUCT || ident_len > 4096 {
        return keystone_abi::sm::err::ILLEGAL_ARGUMENT;
    }
    let out = or_bad_pointer(s.space.writable(key, report::SEALING_KEY_STRUCT));
    let ident = or_bad_pointer(s.space.readable(ident, ident_len));
    let (a, b) = (s.copy.a, s.copy.b);
    s.copy_in_to_page(&ident, b);
    // SAFETY: GET_SEALING_KEY takes physical addresses inside the EPM: a and
    // b are the runtime's copy pages, with no reference to them live; the SM
    // writes a sealing key struct (< a page) at a and reads `ident_len` <=
    // 4096 bytes at b.
    let r = unsafe { arch::sm_call(fid::GET_SEALING_KEY, a, b, ident_len) };
    if r.error == 0 {
        s.copy_out_of_page(a, &out);
    }
    s.space.mem().page(a).fill(0);
    r.error
}

/// write(fd, buf, len) to stdout/stderr, proxied to the host as
/// EDGECALL_SYSCALL; long writes are cut to what the UTM holds.
pub(crate) fn console_write(s: &mut State, fd: usize, buf: usize, len: usize) -> usize {
    if fd != 1 && fd != 2 {
        return neg(linux::EBADF);
    }
    let head = 8 + core::mem::size_of::<SyscallWrite>();
    let n = len.min(edge::data_capacity(s.utm.size()).saturating_sub(head));
    let src = or_bad_pointer(s.space.readable(buf, n));
    let utm = s.utm.bytes();
    let d = DATA_OFFSET;
    utm[d..d + 8].copy_from_slice(&(linux::WRITE as u64).to_le_bytes());
    utm[d + 8..d + 12].copy_from_slice(&(fd as i32).to_le_bytes());
    utm[d + 12..d + 16].fill(0);
    utm[d + 16..d + 24].copy_from_slice(&(n as u64).to_le_bytes());
    s.space.copy_in(&src, &mut utm[d + head..d + head + n]);
    let Ok(answer) = call_host(&mut s.utm, EDGECALL_SYSCALL, head + n) else { return usize::MAX };
    match edge::syscall_result(s.utm.bytes(), &answer) {
        Ok(v) => v as usize,
        Err(_) => usize::MAX,
    }
}

/// getrandom(buf, len, flags) from the SM's RANDOM.
fn getrandom(s: &mut State, buf: usize, len: usize) -> usize {
    let dst: UserSlice<Write> = or_bad_pointer(s.space.writable(buf, len));
    let mut done = 0;
    while done < len {
        let word = arch::random().to_le_bytes();
        let n = (len - done).min(8);
        let part = dst.get(done..done + n).expect("inside the checked slice");
        s.space.copy_out(&part, &word[..n]);
        done += n;
    }
    len
}

/// clock_gettime(clock, ts): every clock reads the `time` CSR.
fn clock_gettime(s: &mut State, ts: usize) -> usize {
    let t = arch::time();
    let sec = t / TIMEBASE_HZ;
    let nsec = (t % TIMEBASE_HZ) * (1_000_000_000 / TIMEBASE_HZ);
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&sec.to_le_bytes());
    out[8..].copy_from_slice(&nsec.to_le_bytes());
    let dst = or_bad_pointer(s.space.writable(ts, out.len()));
    s.space.copy_out(&dst, &out);
    0
}

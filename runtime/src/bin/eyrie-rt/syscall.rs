//! The eapp's system calls: Keystone's (ocall, copy_from_shared, attest,
//! sealing key, exit) and the Linux ones a no_std or musl-style eapp needs.
//! A pointer that is not the eapp's own memory ends the enclave with
//! BAD_POINTER; an untrusted answer from the host that fails its checks makes
//! the call fail.

use crate::mem::{state, State};
use keystone_abi::edge::{EdgeCall, SyscallWrite, DATA_OFFSET, EDGECALL_SYSCALL, EDGE_CALL_SIZE};
use keystone_abi::eyrie::{exit_code, linux, syscall as ks, TIMEBASE_HZ};
use keystone_abi::sm::{fid, report};
use runtime::arch::{self, exit_enclave};
use runtime::edge;
use runtime::user::Access;

/// Returned by Keystone's calls when they fail (as Eyrie: 1).
const FAILED: usize = 1;

fn neg(errno: isize) -> usize {
    (-errno) as usize
}

/// Ends the enclave: the eapp named memory that is not its own.
fn bad_pointer() -> ! {
    exit_enclave(exit_code::BAD_POINTER)
}

/// Answers system call `n` with arguments `a`; the value goes to a0.
pub fn dispatch(n: usize, a: [usize; 6]) -> usize {
    let s = state();
    match n {
        ks::EXIT | linux::EXIT | linux::EXIT_GROUP => exit_enclave(a[0]),
        ks::OCALL => ocall(s, a[0] as u64, a[1], a[2], a[3], a[4]),
        ks::SHAREDCOPY => copy_from_shared(s, a[0], a[1] as u64, a[2] as u64),
        ks::ATTEST_ENCLAVE => attest(s, a[0], a[1], a[2]),
        ks::GET_SEALING_KEY => sealing_key(s, a[0], a[1], a[2], a[3]),
        linux::WRITE => write(s, a[0], a[1], a[2]),
        linux::BRK => s.set_brk(a[0]),
        linux::MMAP => s.mmap(a[1], a[2], a[3], a[4] as isize) as usize,
        linux::MUNMAP => s.munmap(a[0], a[1]) as usize,
        linux::MPROTECT | linux::RT_SIGACTION | linux::RT_SIGPROCMASK => 0,
        linux::SET_TID_ADDRESS | linux::GETPID => 1,
        linux::GETRANDOM => getrandom(s, a[0], a[1]),
        linux::CLOCK_GETTIME => clock_gettime(s, a[1]),
        _ => neg(linux::ENOSYS),
    }
}

/// Writes the edge-call header, stops for the host, and reads its answer.
fn call_host(s: &mut State, id: u64, len: usize) -> Result<EdgeCall, ()> {
    let call = edge::request(s.utm_size, id, len).map_err(|_| ())?;
    write_header(s, &call);
    if arch::stop_for_edge_call().error != 0 {
        return Err(());
    }
    Ok(read_header(s))
}

fn write_header(s: &mut State, call: &EdgeCall) {
    let utm = s.utm();
    // SAFETY: EdgeCall is repr(C) plain u64s; the UTM holds at least the
    // header (checked by edge::request through data_capacity).
    let bytes = unsafe {
        core::slice::from_raw_parts(call as *const EdgeCall as *const u8, EDGE_CALL_SIZE)
    };
    utm[..EDGE_CALL_SIZE].copy_from_slice(bytes);
}

fn read_header(s: &mut State) -> EdgeCall {
    let mut call = EdgeCall::default();
    // SAFETY: as in `write_header`; any bit pattern is a valid EdgeCall.
    let bytes = unsafe {
        core::slice::from_raw_parts_mut(&mut call as *mut EdgeCall as *mut u8, EDGE_CALL_SIZE)
    };
    bytes.copy_from_slice(&s.utm()[..EDGE_CALL_SIZE]);
    call
}

/// ocall(id, data, len, ret_buf, ret_len): 0, or 1 if the host failed it.
fn ocall(s: &mut State, id: u64, data: usize, len: usize, ret: usize, ret_len: usize) -> usize {
    if len > edge::data_capacity(s.utm_size) {
        return FAILED;
    }
    if !s.user_ok(data, len, Access::Read) || !s.user_ok(ret, ret_len, Access::Write) {
        bad_pointer();
    }
    let args = &mut s.utm()[DATA_OFFSET..DATA_OFFSET + len] as *mut [u8];
    // SAFETY: `args` is a UTM range distinct from the state it borrows.
    if !s.copy_in(data, unsafe { &mut *args }) {
        bad_pointer();
    }
    let Ok(answer) = call_host(s, id, len) else { return FAILED };
    if answer.return_data.call_status != keystone_abi::edge::status::OK {
        return FAILED;
    }
    if ret_len == 0 {
        return 0;
    }
    let Ok(range) = edge::reply(s.utm_size, &answer) else { return FAILED };
    let n = range.len().min(ret_len);
    let src = &s.utm()[range.start..range.start + n] as *const [u8];
    // SAFETY: `src` is a UTM range, distinct from the state copy_out uses.
    if !s.copy_out(ret, unsafe { &*src }) {
        bad_pointer();
    }
    0
}

/// copy_from_shared(dst, offset, len): 0, or 1 if the range is not in the UTM.
fn copy_from_shared(s: &mut State, dst: usize, offset: u64, len: u64) -> usize {
    let Some(range) = edge::shared_range(s.utm_size, offset, len) else { return FAILED };
    let src = &s.utm()[range] as *const [u8];
    // SAFETY: as in `ocall`.
    if !s.copy_out(dst, unsafe { &*src }) {
        bad_pointer();
    }
    0
}

/// attest_enclave(report, data, size): the SM's error code; the report is
/// copied out only on success.
fn attest(s: &mut State, report_va: usize, data: usize, size: usize) -> usize {
    if size > report::DATA_MAX {
        return keystone_abi::sm::err::ILLEGAL_ARGUMENT;
    }
    if !s.user_ok(report_va, report::REPORT, Access::Write) {
        bad_pointer();
    }
    let (a, b) = (s.copy_a, s.copy_b);
    let buf = s.copy_page(b) as *mut [u8; 4096];
    // SAFETY: copy page b is runtime memory distinct from the state.
    if !s.copy_in(data, unsafe { &mut (&mut *buf)[..size] }) {
        bad_pointer();
    }
    // The SM reads and writes ATTEST's buffers through the runtime's own
    // translation (as Eyrie passes its copy buffers' virtual addresses).
    let r = arch::sm_call(fid::ATTEST_ENCLAVE, s.window_va(a), s.window_va(b), size);
    if r.error == 0 {
        let out = s.copy_page(a) as *const [u8; 4096];
        // SAFETY: as above, copy page a.
        if !s.copy_out(report_va, unsafe { &(&*out)[..report::REPORT] }) {
            bad_pointer();
        }
    }
    s.copy_page(a).fill(0);
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
    if !s.user_ok(key, report::SEALING_KEY_STRUCT, Access::Write) {
        bad_pointer();
    }
    let (a, b) = (s.copy_a, s.copy_b);
    let buf = s.copy_page(b) as *mut [u8; 4096];
    // SAFETY: copy page b is runtime memory distinct from the state.
    if !s.copy_in(ident, unsafe { &mut (&mut *buf)[..ident_len] }) {
        bad_pointer();
    }
    // GET_SEALING_KEY takes physical addresses inside the EPM.
    let r = arch::sm_call(fid::GET_SEALING_KEY, a, b, ident_len);
    if r.error == 0 {
        let out = s.copy_page(a) as *const [u8; 4096];
        // SAFETY: as above, copy page a.
        if !s.copy_out(key, unsafe { &(&*out)[..report::SEALING_KEY_STRUCT] }) {
            bad_pointer();
        }
    }
    s.copy_page(a).fill(0);
    r.error
}

/// write(fd, buf, len) to stdout/stderr, proxied to the host as
/// EDGECALL_SYSCALL; long writes are cut to what the UTM holds.
fn write(s: &mut State, fd: usize, buf: usize, len: usize) -> usize {
    if fd != 1 && fd != 2 {
        return neg(linux::EBADF);
    }
    let head = 8 + core::mem::size_of::<SyscallWrite>();
    let n = len.min(edge::data_capacity(s.utm_size).saturating_sub(head));
    if !s.user_ok(buf, n, Access::Read) {
        bad_pointer();
    }
    let utm = s.utm();
    let d = DATA_OFFSET;
    utm[d..d + 8].copy_from_slice(&(linux::WRITE as u64).to_le_bytes());
    utm[d + 8..d + 12].copy_from_slice(&(fd as i32).to_le_bytes());
    utm[d + 12..d + 16].fill(0);
    utm[d + 16..d + 24].copy_from_slice(&(n as u64).to_le_bytes());
    let dst = &mut utm[d + head..d + head + n] as *mut [u8];
    // SAFETY: `dst` is a UTM range, distinct from the state.
    if !s.copy_in(buf, unsafe { &mut *dst }) {
        bad_pointer();
    }
    let Ok(answer) = call_host(s, EDGECALL_SYSCALL, head + n) else { return usize::MAX };
    match edge::syscall_result(s.utm(), &answer) {
        Ok(v) => v as usize,
        Err(_) => usize::MAX,
    }
}

/// getrandom(buf, len, flags) from the SM's RANDOM.
fn getrandom(s: &mut State, buf: usize, len: usize) -> usize {
    if !s.user_ok(buf, len, Access::Write) {
        bad_pointer();
    }
    let mut done = 0;
    while done < len {
        let word = arch::random().to_le_bytes();
        let n = (len - done).min(8);
        if !s.copy_out(buf + done, &word[..n]) {
            bad_pointer();
        }
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
    if !s.copy_out(ts, &out) {
        bad_pointer();
    }
    0
}

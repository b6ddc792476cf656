//! `-append runtime`: the payload plays the host of the Eyrie-compatible
//! runtime, as Keystone's host SDK would (docs/abi.md §7.1): it lays out
//! `loader.bin`, `eyrie-rt` and each eapp as raw files, page-padded and
//! consecutive, in an EPM; creates the enclave with free memory after them;
//! runs it with a short timer so it is interrupted often; serves its ocalls
//! (Keystone's test ocalls 1-4 and proxied write(2) as EDGECALL_SYSCALL);
//! checks the exit value; destroys it; and goes on with the next eapp.
//!
//! The files come in memory: the test loads each one with QEMU's
//! `-device loader,file=F,addr=A,force-raw=on` and names it in the bootargs
//! as `ksfile=NAME,ADDR,SIZE` (hex). `loader` and `runtime` are required;
//! every other name is an eapp, run in bootargs order.
//!
//! `slice=TICKS` (decimal) asks the runtime for Eyrie's own time slice
//! (`keystone_abi::eyrie::slice`: it arms `set_timer(time + TICKS)` on every
//! return to the eapp) and arms no host timer at all, so every INTERRUPTED
//! the host sees comes from the enclave's own request: the SM must stop the
//! enclave at it and consume it, or the enclave would never finish.

use crate::sbi::{call, time, SbiRet};
use crate::tap::check;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use keystone_abi::edge::{self, status, test_ocall, EdgeCall, DATA_OFFSET, EDGE_CALL_SIZE};
use keystone_abi::eyrie::{exit_code, linux, slice};
use keystone_abi::sm::{err, fid, report, CreateArgs, KEYSTONE_EID};

/// The EPM of every enclave here (NAPOT: 8 MiB at an 8 MiB boundary).
const EPM: usize = 0x8400_0000;
const EPM_SIZE: usize = 0x80_0000;
/// The UTM (64 KiB, NAPOT).
const UTM: usize = 0x8300_0000;
const UTM_SIZE: usize = 0x1_0000;
/// Timer ticks (10 MHz) between host interrupts of a running enclave: 0.25 ms
/// (at 1 ms a loaded build machine saw the loop eapp stopped fewer than 10 times).
const TICK: u64 = 2_500;
/// Eyrie's slice the runtime is asked for (`slice=`); 0: none, the host ticks.
static SLICE: AtomicU64 = AtomicU64::new(0);
/// Give up on an enclave after this many stops (a hang, not a result).
const MAX_STOPS: usize = 2_000_000;
const PAGE: usize = 4096;
/// Keystone's test host string (`examples/tests/test-runner.cpp`).
const HOST_STRING: &[u8] = b"hellohellohellohellohellohellohellohellohellohello\0";

/// Payload-owned memory at a fixed physical address, lent out one scope at
/// a time: the only way to its bytes, and entering it twice panics.
struct Region {
    addr: usize,
    size: usize,
    busy: AtomicBool,
}

impl Region {
    /// # Safety
    ///
    /// `[addr, addr + size)` is DRAM that the payload owns and that nothing
    /// else in it references (no other `Region`, no static, no stack); the
    /// SM may use it only while no borrow from [`Region::with`] is live.
    const unsafe fn new(addr: usize, size: usize) -> Region {
        Region { addr, size, busy: AtomicBool::new(false) }
    }

    /// Runs `f` on the region's bytes.
    fn with<R>(&self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        assert!(!self.busy.swap(true, Ordering::Acquire), "region {:#x} entered twice", self.addr);
        // SAFETY: `new`'s contract, and `busy` makes this the only borrow
        // until it is cleared below.
        let r = f(unsafe { core::slice::from_raw_parts_mut(self.addr as *mut u8, self.size) });
        self.busy.store(false, Ordering::Release);
        r
    }

    fn overlaps(&self, addr: usize, size: usize) -> bool {
        addr < self.addr + self.size && self.addr < addr.saturating_add(size)
    }
}

// SAFETY: the EPM is payload DRAM at 0x8400_0000 that nothing else in the
// payload uses (the test loads the files elsewhere, and `parse` refuses any
// that overlaps it); the SM has it only while an enclave exists, when no
// `with` borrow is live.
static EPM_REGION: Region = unsafe { Region::new(EPM, EPM_SIZE) };
// SAFETY: as for the EPM: the UTM at 0x8300_0000 is the payload's alone,
// shared with an enclave only while it runs, outside any `with` borrow.
static UTM_REGION: Region = unsafe { Region::new(UTM, UTM_SIZE) };

/// One file handed in by QEMU's loader device.
#[derive(Clone, Copy)]
struct File<'a> {
    name: &'a str,
    addr: usize,
    size: usize,
}

impl File<'_> {
    fn bytes(&self) -> &'static [u8] {
        // SAFETY: QEMU's loader put `size` bytes at `addr` in DRAM the
        // payload owns and never writes (`parse` refused files overlapping
        // the EPM or the UTM, the only memory this module writes).
        unsafe { core::slice::from_raw_parts(self.addr as *const u8, self.size) }
    }
}

fn parse(token: &str) -> Option<File<'_>> {
    let mut parts = token.strip_prefix("ksfile=")?.split(',');
    let name = parts.next()?;
    let hex = |s: &str| usize::from_str_radix(s.trim_start_matches("0x"), 16).ok();
    let addr = hex(parts.next()?)?;
    let size = hex(parts.next()?)?;
    addr.checked_add(size)?;
    if EPM_REGION.overlaps(addr, size) || UTM_REGION.overlaps(addr, size) {
        return None;
    }
    Some(File { name, addr, size })
}

/// What each known eapp must return, and what else its run must show.
fn expected(name: &str) -> Option<usize> {
    Some(match name {
        "stack" | "long-nop" => 12345,
        "loop" => 54321,
        "malloc" => 11411,
        "fibonacci" => 14930352,
        "untrusted" => 13,
        "hello" | "attestation" | "data-sealing" | "edge-checks" => 0,
        "fault" => exit_code::fault(keystone_abi::eyrie::cause::LOAD_PAGE_FAULT),
        "illegal" => exit_code::fault(keystone_abi::eyrie::cause::ILLEGAL_INSTRUCTION),
        "bad-pointer" => exit_code::BAD_POINTER,
        _ => return None,
    })
}

/// Runs every eapp named in `bootargs`.
pub fn run(bootargs: &str) {
    let files = || bootargs.split_whitespace().filter_map(parse);
    let loader = files().find(|f| f.name == "loader");
    let runtime = files().find(|f| f.name == "runtime");
    let (Some(loader), Some(runtime)) = (loader, runtime) else {
        check!(false, "runtime: loader and runtime files given";
            "bootargs need ksfile=loader,.. and ksfile=runtime,..");
        return;
    };
    println!("# runtime host: loader {:#x} bytes, runtime {:#x} bytes", loader.size, runtime.size);
    let slice = bootargs.split_whitespace().find_map(|t| t.strip_prefix("slice="));
    if let Some(ticks) = slice {
        match ticks.parse::<u64>() {
            Ok(t) if (1..=slice::MAX).contains(&t) => {
                SLICE.store(t, Ordering::Relaxed);
                println!("# runtime host: Eyrie's time slice of {t} ticks, no host timer");
            }
            _ => {
                check!(false, "runtime: slice= is a tick count"; "slice={ticks}");
                return;
            }
        }
    }
    for eapp in files().filter(|f| f.name != "loader" && f.name != "runtime") {
        run_eapp(&loader, &runtime, &eapp);
    }
}

fn ks(f: usize, arg: usize) -> SbiRet {
    call(KEYSTONE_EID, f, [arg, 0, 0])
}

fn arm_timer() {
    if SLICE.load(Ordering::Relaxed) != 0 {
        return no_timer();
    }
    call(sbi_spec::time::EID_TIME, 0, [(time() + TICK) as usize, 0, 0]);
}

/// Writes the slice request into the (freshly zeroed) UTM before RUN.
fn request_slice() {
    let ticks = SLICE.load(Ordering::Relaxed);
    if ticks != 0 {
        UTM_REGION.with(|u| {
            u[..8].copy_from_slice(&slice::MAGIC);
            u[slice::VALUE_OFFSET..slice::VALUE_OFFSET + 8].copy_from_slice(&ticks.to_le_bytes());
        });
    }
}

fn no_timer() {
    call(sbi_spec::time::EID_TIME, 0, [usize::MAX, 0, 0]);
}

/// Copies the three files into the EPM as the host SDK does; the create arguments.
fn lay_out(files: [&File; 3]) -> Option<CreateArgs> {
    let mut starts = [0; 3];
    let at = EPM_REGION.with(|epm| {
        epm.fill(0);
        let mut at = 0;
        for (i, f) in files.iter().enumerate() {
            let end = at + f.size.next_multiple_of(PAGE);
            if end > EPM_SIZE {
                return None;
            }
            epm[at..at + f.size].copy_from_slice(f.bytes());
            starts[i] = EPM + at;
            at = end;
        }
        Some(at)
    })?;
    Some(CreateArgs {
        epm_paddr: EPM as u64,
        epm_size: EPM_SIZE as u64,
        utm_paddr: UTM as u64,
        utm_size: UTM_SIZE as u64,
        runtime_paddr: starts[1] as u64,
        user_paddr: starts[2] as u64,
        free_paddr: (EPM + at) as u64,
        free_requested: (EPM_SIZE - at) as u64,
    })
}

struct Outcome {
    ret: SbiRet,
    interrupts: usize,
    ocalls: usize,
}

fn run_eapp(loader: &File, runtime: &File, eapp: &File) {
    // A `user-*` eapp is the user's own (`keystone-py gdb --eapp FILE`): any value.
    let want = expected(eapp.name);
    if want.is_none() && !eapp.name.starts_with("user-") {
        check!(false, "eapp {} is known", eapp.name; "no expected value for it");
        return;
    }
    let Some(args) = lay_out([loader, runtime, eapp]) else {
        check!(false, "eapp {} fits the EPM", eapp.name; "files too large");
        return;
    };
    let created = ks(fid::CREATE_ENCLAVE, &args as *const CreateArgs as usize);
    if created.error != 0 {
        check!(false, "eapp {}: create", eapp.name; "error {}", created.error);
        return;
    }
    let eid = created.value;
    request_slice();
    let out = run_to_exit(eid);
    no_timer();
    let destroyed = ks(fid::DESTROY_ENCLAVE, eid);
    let Outcome { ret, interrupts, ocalls } = out;
    check!(
        ret.error == 0 && want.is_none_or(|w| ret.value == w) && destroyed.error == 0,
        "eapp {} returns {} (interrupts {}, ocalls {})", eapp.name, ret.value, interrupts, ocalls;
        "run error {} value {:#x}, want value {:#x}; destroy error {}",
        ret.error, ret.value, want.unwrap_or(ret.value), destroyed.error
    );
    match eapp.name {
        "loop" | "fibonacci" if SLICE.load(Ordering::Relaxed) != 0 => check!(
            interrupts >= 1,
            "eapp {} was stopped by its own time slice and resumed", eapp.name;
            "no interrupts: the enclave's set_timer did not stop it"
        ),
        "loop" | "fibonacci" => check!(
            interrupts >= 10,
            "eapp {} was interrupted and resumed many times", eapp.name;
            "only {} interrupts", interrupts
        ),
        "untrusted" => check!(ocalls == 5, "eapp untrusted made 5 ocalls"; "{} ocalls", ocalls),
        _ => {}
    }
}

/// RUN, then serve edge calls and RESUME after interrupts until it exits.
fn run_to_exit(eid: usize) -> Outcome {
    let mut out = Outcome { ret: SbiRet { error: 0, value: 0 }, interrupts: 0, ocalls: 0 };
    arm_timer();
    let mut ret = ks(fid::RUN_ENCLAVE, eid);
    for _ in 0..MAX_STOPS {
        match ret.error {
            err::INTERRUPTED => out.interrupts += 1,
            err::EDGE_CALL_HOST => {
                out.ocalls += 1;
                UTM_REGION.with(serve_edge_call);
            }
            _ => break,
        }
        arm_timer();
        ret = ks(fid::RESUME_ENCLAVE, eid);
    }
    out.ret = ret;
    out
}

fn read_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

fn read_call(u: &[u8]) -> EdgeCall {
    EdgeCall {
        call_id: read_u64(u, 0),
        call_arg_offset: read_u64(u, 8),
        call_arg_size: read_u64(u, 16),
        return_data: edge::EdgeReturn {
            call_status: read_u64(u, 24),
            call_ret_offset: read_u64(u, 32),
            call_ret_size: read_u64(u, 40),
        },
    }
}

fn answer(u: &mut [u8], status: u64, ret_offset: usize, ret_size: usize) {
    u[24..32].copy_from_slice(&status.to_le_bytes());
    u[32..40].copy_from_slice(&(ret_offset as u64).to_le_bytes());
    u[40..48].copy_from_slice(&(ret_size as u64).to_le_bytes());
}

/// Prints bytes the enclave sent (its text is untrusted: bad UTF-8 shows as '?').
fn print_bytes(bytes: &[u8]) {
    for chunk in bytes.utf8_chunks() {
        crate::console::print(format_args!("{}", chunk.valid()));
        if !chunk.invalid().is_empty() {
            crate::console::print(format_args!("?"));
        }
    }
}

/// What a handler answers; written into the UTM once the request is done with.
enum Reply {
    /// This status, no data.
    Status(u64),
    /// OK, an 8-byte value at the data area (`edge_call_setup_ret`).
    U64(u64),
    /// OK, an `edge_data` at the data area naming these bytes stored right
    /// after it (`edge_call_setup_wrapped_ret`).
    Wrapped(&'static [u8]),
    /// This header as given: a lying host.
    Raw { status: u64, offset: usize, size: usize },
}

/// Dispatches the edge call in the UTM by its id, like the host SDK.
fn serve_edge_call(u: &mut [u8]) {
    let call = read_call(u);
    let args = (call.call_arg_offset as usize)
        .checked_add(call.call_arg_size as usize)
        .filter(|&end| end <= UTM_SIZE && call.call_arg_offset as usize >= EDGE_CALL_SIZE)
        .map(|end| call.call_arg_offset as usize..end);
    let reply = match args {
        Some(args) => handle(call.call_id, &u[args]),
        None => Reply::Status(status::BAD_OFFSET),
    };
    match reply {
        Reply::Status(st) => answer(u, st, 0, 0),
        Reply::U64(v) => {
            u[DATA_OFFSET..DATA_OFFSET + 8].copy_from_slice(&v.to_le_bytes());
            answer(u, status::OK, DATA_OFFSET, 8);
        }
        Reply::Wrapped(bytes) => {
            let at = DATA_OFFSET + 16;
            u[at..at + bytes.len()].copy_from_slice(bytes);
            u[DATA_OFFSET..DATA_OFFSET + 8].copy_from_slice(&(at as u64).to_le_bytes());
            u[DATA_OFFSET + 8..DATA_OFFSET + 16]
                .copy_from_slice(&(bytes.len() as u64).to_le_bytes());
            answer(u, status::OK, DATA_OFFSET, 16);
        }
        Reply::Raw { status, offset, size } => answer(u, status, offset, size),
    }
}

/// Serves one ocall whose arguments are `data`.
fn handle(id: u64, data: &[u8]) -> Reply {
    match id {
        test_ocall::PRINT_BUFFER => {
            let text = data.split(|&b| b == 0).next().unwrap_or(&[]);
            crate::console::print(format_args!("Enclave said: "));
            print_bytes(text);
            Reply::U64(text.len() as u64)
        }
        test_ocall::PRINT_VALUE if data.len() >= 8 => {
            println!("Enclave said value: {}", read_u64(data, 0));
            Reply::Status(status::OK)
        }
        test_ocall::GET_STRING => Reply::Wrapped(HOST_STRING),
        test_ocall::COPY_REPORT if data.len() >= report::REPORT => {
            // The payload cannot check Ed25519 signatures: it prints the
            // report for the Python verifier and checks the nonce here.
            let rep = &data[..report::REPORT];
            let len = read_u64(rep, report::OFF_DATA_LEN);
            let nonce = &rep[report::OFF_DATA..report::OFF_DATA + 5];
            check!(len == 5 && nonce == b"nonce", "eapp attestation: the report carries the nonce";
                "data_len {}", len);
            crate::console::print(format_args!("# report "));
            for b in rep {
                crate::console::print(format_args!("{b:02x}"));
            }
            crate::console::print(format_args!("\n"));
            Reply::Status(status::OK)
        }
        test_ocall::BAD_REPLY => Reply::Raw { status: status::OK, offset: UTM_SIZE - 4, size: 16 },
        edge::EDGECALL_SYSCALL if data.len() >= 8 => Reply::U64(serve_syscall(data) as u64),
        _ => Reply::Status(status::BAD_CALL_ID),
    }
}

/// A proxied Linux system call: write(2) to fd 1/2 prints; others fail ENOSYS.
fn serve_syscall(data: &[u8]) -> i64 {
    let num = read_u64(data, 0) as usize;
    let args = &data[edge::SYSCALL_DATA_OFFSET..];
    if num == linux::WRITE && args.len() >= edge::WRITE_BUF_OFFSET {
        let fd = i32::from_le_bytes(args[..4].try_into().unwrap());
        let len = read_u64(args, 8) as usize;
        let buf = &args[edge::WRITE_BUF_OFFSET..];
        if len > buf.len() {
            -linux::EINVAL as i64
        } else if fd == 1 || fd == 2 {
            print_bytes(&buf[..len]);
            len as i64
        } else {
            -linux::EBADF as i64
        }
    } else {
        -linux::ENOSYS as i64
    }
}

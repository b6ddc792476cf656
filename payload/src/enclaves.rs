//! Keystone SM checks: the enclave life cycle, every class of bad input,
//! isolation probes, interrupts, leaks, and enclaves on several harts.
//! The payload plays the host OS; `test_enclave` is the enclave.

use crate::harts::{self, wait_for};
use crate::sbi::{call, SbiRet, SECOND};
use crate::tap::{check, check_err, check_ret};
use crate::{test_enclave, traps};
use core::sync::atomic::{AtomicUsize, Ordering};
use keystone_abi::layout::{MAX_HARTS, SM_BASE};
use keystone_abi::sm::{err, fid, CreateArgs, KEYSTONE_EID};

/// EPMs: 64 KiB each from here (NAPOT); UTMs: 4 KiB each from UTM_POOL.
const EPM_POOL: usize = 0x8100_0000;
pub const EPM_SIZE: usize = 0x1_0000;
const UTM_POOL: usize = 0x8200_0000;
const UTM_SIZE: usize = 0x1000;
const LOAD_ACCESS_FAULT: usize = 5;
const STORE_ACCESS_FAULT: usize = 7;
const FETCH_ACCESS_FAULT: usize = 1;

pub fn ks(f: usize, arg: usize) -> SbiRet {
    call(KEYSTONE_EID, f, [arg, 0, 0])
}

/// Create arguments for enclave slot `i` of the pools, image at the EPM base.
pub fn args(i: usize) -> CreateArgs {
    let epm = (EPM_POOL + i * EPM_SIZE) as u64;
    CreateArgs {
        epm_paddr: epm,
        epm_size: EPM_SIZE as u64,
        utm_paddr: (UTM_POOL + i * UTM_SIZE) as u64,
        utm_size: UTM_SIZE as u64,
        runtime_paddr: epm + 0x1000,
        user_paddr: epm + 0x2000,
        free_paddr: epm + 0x3000,
        free_requested: 0x1000,
    }
}

/// Copies the test enclave into the EPM of `a` (as the host SDK copies files).
pub fn load_image(a: &CreateArgs) {
    let image = test_enclave::image();
    // SAFETY: the EPM pool is payload-owned DRAM, not yet given to the SM.
    unsafe {
        core::ptr::write_bytes(a.epm_paddr as *mut u8, 0, 0x3000);
        core::ptr::copy_nonoverlapping(image.as_ptr(), a.epm_paddr as *mut u8, image.len());
    }
}

pub fn create_raw(a: &CreateArgs) -> SbiRet {
    ks(fid::CREATE_ENCLAVE, a as *const CreateArgs as usize)
}

/// Loads the image and creates an enclave from slot `i`; the eid or an error.
pub fn create(i: usize) -> Result<usize, usize> {
    let a = args(i);
    load_image(&a);
    let ret = create_raw(&a);
    if ret.error == 0 {
        Ok(ret.value)
    } else {
        Err(ret.error)
    }
}

pub fn utm(i: usize) -> *mut u64 {
    (UTM_POOL + i * UTM_SIZE) as *mut u64
}

/// Writes the enclave's command block in the UTM of slot `i`.
pub fn command(i: usize, cmd: u64, arg1: u64, arg2: u64) {
    // SAFETY: the UTM is host memory shared with the enclave.
    unsafe {
        utm(i).write_volatile(cmd);
        utm(i).add(1).write_volatile(arg1);
        utm(i).add(2).write_volatile(arg2);
    }
}

pub fn utm_word(i: usize, word: usize) -> u64 {
    // SAFETY: as in `command`.
    unsafe { utm(i).add(word).read_volatile() }
}

/// RUN, then RESUME through interrupts; (final SbiRet, interrupts seen).
fn run_to_stop(eid: usize, mut before_each: impl FnMut()) -> (SbiRet, usize) {
    let mut interrupts = 0;
    before_each();
    let mut ret = ks(fid::RUN_ENCLAVE, eid);
    while ret.error == err::INTERRUPTED && interrupts < 1_000_000 {
        interrupts += 1;
        before_each();
        ret = ks(fid::RESUME_ENCLAVE, eid);
    }
    (ret, interrupts)
}

fn no_timer() {
    call(sbi_spec::time::EID_TIME, 0, [usize::MAX, 0, 0]);
}

/// Runs every enclave check; `harts` lists the harts present.
pub fn run(me: usize, present: &[bool; MAX_HARTS]) {
    lifecycle();
    edge_call();
    interrupts();
    bad_create_arguments();
    overlaps();
    wrong_ids_and_states();
    wrong_world_calls();
    enclave_isolation();
    fp_state_is_per_world();
    attestation();
    sealing();
    create_destroy_cycles();
    if let Some(other) = (0..MAX_HARTS).find(|&h| present[h] && h != me) {
        two_harts(other);
    }
}

fn lifecycle() {
    let a = args(0);
    load_image(&a);
    let ret = create_raw(&a);
    check!(ret.error == 0 && ret.value < 16, "sm.create returns an eid"; "got ({}, {})", ret.error, ret.value);
    let eid = ret.value;
    command(0, 1, 0x1234, 0);
    check!(utm_word(0, 0) == 1, "sm.create zeroes the UTM (then the host writes it)"; "utm = {:#x}", utm_word(0, 0));
    let (ret, _) = run_to_stop(eid, no_timer);
    check_ret!(
        ret,
        0,
        0x1234,
        "sm.run: the enclave runs from the EPM base and exits with its value"
    );
    check_err!(
        ks(fid::RESUME_ENCLAVE, eid),
        err::NOT_RESUMABLE,
        "sm.resume after exit -> NOT_RESUMABLE"
    );
    check_err!(ks(fid::RUN_ENCLAVE, eid), err::NOT_FRESH, "sm.run twice -> NOT_FRESH");
    check_ret!(ks(fid::DESTROY_ENCLAVE, eid), 0, 0, "sm.destroy");
    // SAFETY: the EPM is the host's again after destroy.
    let first = unsafe { (a.epm_paddr as *const u64).read_volatile() };
    let got = traps::catch(|| {
        // SAFETY: a probe.
        unsafe { (a.epm_paddr as *const u64).read_volatile() };
    });
    check!(got.is_none() && first == 0, "sm.destroy scrubs the EPM and gives it back"; "fault {:?}, first word {:#x}", got, first);
    check_err!(ks(fid::DESTROY_ENCLAVE, eid), err::INVALID_ID, "sm.destroy twice -> INVALID_ID");
}

fn edge_call() {
    let eid = create(0).expect("create");
    command(0, 2, 0, 0);
    let (ret, _) = run_to_stop(eid, no_timer);
    check_err!(
        ret,
        err::EDGE_CALL_HOST,
        "enclave STOP(EDGE_CALL_HOST) -> run returns EDGE_CALL_HOST"
    );
    check!(utm_word(0, 3) == 0xe1, "the edge call's request is in the UTM"; "utm+24 = {:#x}", utm_word(0, 3));
    // SAFETY: host writes its reply into the shared UTM.
    unsafe { utm(0).add(2).write_volatile(0x777) };
    let ret = ks(fid::RESUME_ENCLAVE, eid);
    check_ret!(
        ret,
        0,
        0x777,
        "sm.resume after an edge call: STOP returns 0, the enclave reads the reply"
    );
    ks(fid::DESTROY_ENCLAVE, eid);
}

fn interrupts() {
    let eid = create(0).expect("create");
    let count = 20_000_000u64;
    command(0, 3, count, 0);
    let arm = || {
        call(sbi_spec::time::EID_TIME, 0, [(crate::sbi::time() + 2_000) as usize, 0, 0]);
    };
    let (ret, n) = run_to_stop(eid, arm);
    no_timer();
    check_ret!(
        ret,
        0,
        count,
        "an interrupted loop resumes exactly where it stopped and exits with its count"
    );
    check!(n >= 3, "the host's timer interrupts the enclave (INTERRUPTED) several times"; "only {} interrupts", n);
    crate::println!("# loop enclave: {n} interrupts");
    ks(fid::DESTROY_ENCLAVE, eid);
}

fn bad_create_arguments() {
    let good = args(0);
    load_image(&good);
    let p = &good as *const CreateArgs as usize;
    check_err!(
        ks(fid::CREATE_ENCLAVE, p + 1),
        err::ILLEGAL_ARGUMENT,
        "sm.create(misaligned pointer) -> ILLEGAL_ARGUMENT"
    );
    check_err!(
        ks(fid::CREATE_ENCLAVE, SM_BASE),
        err::ILLEGAL_ARGUMENT,
        "sm.create(pointer into SM memory) -> ILLEGAL_ARGUMENT"
    );
    check_err!(
        ks(fid::CREATE_ENCLAVE, 0x10),
        err::ILLEGAL_ARGUMENT,
        "sm.create(pointer outside memory) -> ILLEGAL_ARGUMENT"
    );
    let cases: [(&str, fn(&mut CreateArgs)); 12] = [
        ("zero EPM size", |a| a.epm_size = 0),
        ("zero UTM size", |a| a.utm_size = 0),
        ("huge EPM size", |a| a.epm_size = u64::MAX),
        ("huge UTM size", |a| a.utm_size = u64::MAX - 0xfff),
        ("misaligned EPM base", |a| a.epm_paddr += 0x10),
        ("EPM size not page-granular", |a| a.epm_size = 0x10010),
        ("UTM not a power of two", |a| a.utm_size = 0x3000),
        ("runtime outside the EPM", |a| a.runtime_paddr = a.epm_paddr + 0x20000),
        ("runtime after user", |a| a.runtime_paddr = a.user_paddr + 0x1000),
        ("free past the EPM end", |a| a.free_paddr = a.epm_paddr + 0x11000),
        ("EPM outside DRAM", |a| a.epm_paddr = 0x4000_0000),
        ("UTM outside DRAM", |a| a.utm_paddr = 0x1_0000_0000_0000),
    ];
    for (name, mutate) in cases {
        let mut a = good;
        mutate(&mut a);
        let ret = create_raw(&a);
        let refused = ret.error == err::ILLEGAL_ARGUMENT || ret.error == err::PMP_FAILURE;
        check!(refused, "sm.create({name}) is refused"; "got ({}, {})", ret.error, ret.value);
        if ret.error == 0 {
            ks(fid::DESTROY_ENCLAVE, ret.value);
        }
    }
    let eid = create(0);
    check!(eid.is_ok(), "the SM keeps serving: a good create succeeds after all the bad ones"; "{:?}", eid);
    if let Ok(eid) = eid {
        ks(fid::DESTROY_ENCLAVE, eid);
    }
}

fn overlaps() {
    let mut a = args(0);
    a.epm_paddr = SM_BASE as u64;
    a.runtime_paddr = a.epm_paddr + 0x1000;
    a.user_paddr = a.epm_paddr + 0x2000;
    a.free_paddr = a.epm_paddr + 0x3000;
    check_err!(
        create_raw(&a),
        err::REGION_OVERLAPS,
        "sm.create(EPM over the SM) -> REGION_OVERLAPS"
    );
    let mut a = args(0);
    a.utm_paddr = a.epm_paddr + 0x8000;
    check_err!(
        create_raw(&a),
        err::REGION_OVERLAPS,
        "sm.create(UTM inside its own EPM) -> REGION_OVERLAPS"
    );
    let first = create(0).expect("create");
    let mut b = args(1);
    b.epm_paddr = args(0).epm_paddr;
    b.runtime_paddr = b.epm_paddr + 0x1000;
    b.user_paddr = b.epm_paddr + 0x2000;
    b.free_paddr = b.epm_paddr + 0x3000;
    check_err!(
        create_raw(&b),
        err::REGION_OVERLAPS,
        "sm.create(EPM over another enclave's EPM) -> REGION_OVERLAPS"
    );
    let mut b = args(1);
    b.utm_paddr = args(0).utm_paddr;
    load_image(&b);
    check_err!(
        create_raw(&b),
        err::REGION_OVERLAPS,
        "sm.create(UTM shared with another enclave) -> REGION_OVERLAPS"
    );
    let mut b = args(1);
    b.utm_paddr = args(0).epm_paddr + 0x4000;
    check_err!(
        create_raw(&b),
        err::REGION_OVERLAPS,
        "sm.create(UTM inside another enclave's EPM) -> REGION_OVERLAPS"
    );
    ks(fid::DESTROY_ENCLAVE, first);
}

fn wrong_ids_and_states() {
    for (name, f) in [
        ("run", fid::RUN_ENCLAVE),
        ("resume", fid::RESUME_ENCLAVE),
        ("destroy", fid::DESTROY_ENCLAVE),
    ] {
        check_err!(ks(f, 99), err::INVALID_ID, "sm.{name}(unknown eid) -> INVALID_ID");
        check_err!(ks(f, 3), err::INVALID_ID, "sm.{name}(free slot) -> INVALID_ID");
    }
    let eid = create(0).expect("create");
    check_err!(
        ks(fid::RESUME_ENCLAVE, eid),
        err::NOT_RESUMABLE,
        "sm.resume(fresh enclave) -> NOT_RESUMABLE"
    );
    check_err!(ks(1000, 0), err::DEPRECATED, "sm: deprecated function id -> DEPRECATED");
    check_err!(ks(2500, 0), err::NOT_IMPLEMENTED, "sm: unknown function id -> NOT_IMPLEMENTED");
    ks(fid::DESTROY_ENCLAVE, eid);
}

fn wrong_world_calls() {
    for (name, f) in [
        ("stop", fid::STOP_ENCLAVE),
        ("exit", fid::EXIT_ENCLAVE),
        ("random", fid::RANDOM),
        ("attest", fid::ATTEST_ENCLAVE),
    ] {
        check_err!(ks(f, 0), err::SBI_PROHIBITED, "sm.{name} from the host -> SBI_PROHIBITED");
    }
    let eid = create(0).expect("create");
    command(0, 4, 0, 0);
    let (ret, _) = run_to_stop(eid, no_timer);
    check_ret!(ret, 0, err::SBI_PROHIBITED, "sm.run from inside an enclave -> SBI_PROHIBITED");
    ks(fid::DESTROY_ENCLAVE, eid);
    let eid = create(0).expect("create");
    command(0, 8, 0, 0);
    let (ret, _) = run_to_stop(eid, no_timer);
    // Keystone's stop_enclave: any other reason stops the enclave and the
    // host's RUN/RESUME gets UNKNOWN_ERROR.
    check_err!(
        ret,
        err::UNKNOWN_ERROR,
        "enclave STOP(unknown reason) stops it: the host gets UNKNOWN_ERROR"
    );
    no_timer();
    let ret = ks(fid::RESUME_ENCLAVE, eid);
    check_ret!(
        ret,
        0,
        0,
        "after STOP(unknown reason) the enclave resumes past it (STOP returned 0)"
    );
    ks(fid::DESTROY_ENCLAVE, eid);
    let eid = create(0).expect("create");
    command(0, 6, 0, 0);
    let (ret, _) = run_to_stop(eid, no_timer);
    let (r1, r2) = (utm_word(0, 3), utm_word(0, 4));
    check!(ret.error == 0 && ret.value == 0 && r1 != r2 && r1 != 0, "sm.random from the enclave returns fresh values"; "ret {:?}, {:#x} {:#x}", (ret.error, ret.value), r1, r2);
    ks(fid::DESTROY_ENCLAVE, eid);
}

fn fetch_probe(addr: usize) -> Option<(usize, usize)> {
    traps::catch_fetch(addr)
}

fn enclave_isolation() {
    let a = args(0);
    let eid = create(0).expect("create");
    let epm = a.epm_paddr as usize;
    let got = traps::catch(|| {
        // SAFETY: a probe.
        unsafe { (epm as *const u64).read_volatile() };
    });
    check!(got == Some((LOAD_ACCESS_FAULT, epm)), "host S-mode load from the EPM faults"; "got {:?}", got);
    let got = traps::catch(|| {
        // SAFETY: a probe.
        unsafe { ((epm + 0x2000) as *mut u64).write_volatile(1) };
    });
    check!(got == Some((STORE_ACCESS_FAULT, epm + 0x2000)), "host S-mode store to the EPM faults"; "got {:?}", got);
    let got = fetch_probe(epm);
    check!(got == Some((FETCH_ACCESS_FAULT, epm)), "host S-mode fetch from the EPM faults"; "got {:?}", got);

    ks(fid::DESTROY_ENCLAVE, eid);
    let host_word = &crate::traps::TIMER_TICKS as *const _ as u64;
    for (name, addr, want_fault) in [
        ("host memory", host_word, Some(LOAD_ACCESS_FAULT)),
        ("SM memory", SM_BASE as u64, Some(LOAD_ACCESS_FAULT)),
        ("its own EPM", a.epm_paddr + 0x2000, None),
        ("its UTM", a.utm_paddr + 0x800, None),
    ] {
        let e = create(0).expect("create");
        command(0, 5, addr, 0);
        let (ret, _) = run_to_stop(e, no_timer);
        let faulted = ret.value & !0xff == 0xfa00_0000;
        let ok = match want_fault {
            Some(code) => ret.error == 0 && ret.value == 0xfa00_0000 + code,
            None => ret.error == 0 && !faulted,
        };
        check!(ok, "enclave load from {name} {}", if want_fault.is_some() { "faults inside the enclave" } else { "works" }; "got ({}, {:#x})", ret.error, ret.value);
        ks(fid::DESTROY_ENCLAVE, e);
    }
    let e = create(0).expect("create");
    command(0, 9, host_word, 0);
    let (ret, _) = run_to_stop(e, no_timer);
    check_ret!(
        ret,
        0,
        0xfa00_0000 + STORE_ACCESS_FAULT,
        "enclave store to host memory faults inside the enclave"
    );
    ks(fid::DESTROY_ENCLAVE, e);
}

fn fp_state_is_per_world() {
    let eid = create(0).expect("create");
    let secret = 0x4009_21fb_5444_2d18u64;
    command(0, 7, secret, 0);
    set_f5(0x1111);
    let (ret, _) = run_to_stop(eid, no_timer);
    let host_after_stop = f5();
    set_f5(0x2222);
    let ret2 = ks(fid::RESUME_ENCLAVE, eid);
    let host_after_exit = f5();
    check!(ret.error == err::EDGE_CALL_HOST && host_after_stop == 0x1111, "the host's FP registers survive an enclave run"; "f5 = {:#x}", host_after_stop);
    check_ret!(ret2, 0, secret, "the enclave's FP registers survive the host's use of them");
    check!(host_after_exit == 0x2222, "the enclave's FP values do not leak to the host"; "f5 = {:#x}", host_after_exit);
    ks(fid::DESTROY_ENCLAVE, eid);

    // Linux's kernel runs with FS = Off while the FP registers still hold its
    // user task's live values: they must come back whatever FS says.
    let eid = create(0).expect("create");
    command(0, 7, secret, 0);
    set_f5(0x3333);
    fs_off();
    let (ret, _) = run_to_stop(eid, no_timer);
    let ret2 = ks(fid::RESUME_ENCLAVE, eid);
    set_f5_keep();
    let host_after = f5();
    check!(ret.error == err::EDGE_CALL_HOST && host_after == 0x3333, "the host's FP registers survive enclave runs made with FS = Off"; "f5 = {:#x}", host_after);
    check_ret!(
        ret2,
        0,
        secret,
        "the enclave's FP registers survive a host that runs with FS = Off"
    );
    ks(fid::DESTROY_ENCLAVE, eid);

    // FS = Initial says "nothing to save": the switch takes a world at its
    // word and gives it zeroed registers back, and a false claim must cost
    // only the claimant its values, never show them to the other world.
    let eid = create(0).expect("create");
    command(0, 19, secret, 0);
    set_f5(0x4444);
    let (ret, _) = run_to_stop(eid, no_timer);
    let host_after = f5();
    let ret2 = ks(fid::RESUME_ENCLAVE, eid);
    check!(ret.error == err::EDGE_CALL_HOST && host_after == 0x4444, "an enclave that declares FS = Initial over live FP values hands none of them to the host"; "f5 = {:#x}", host_after);
    check_ret!(ret2, 0, 0, "an enclave that declares FS = Initial gets zeroed FP registers back");
    ks(fid::DESTROY_ENCLAVE, eid);

    let eid = create(0).expect("create");
    command(0, 7, secret, 0);
    set_f5(0x5555);
    fs_initial();
    let (ret, _) = run_to_stop(eid, no_timer);
    let host_after = f5();
    let ret2 = ks(fid::RESUME_ENCLAVE, eid);
    check!(ret.error == err::EDGE_CALL_HOST && host_after == 0, "a host that declares FS = Initial gets zeroed FP registers back, none of the enclave's"; "f5 = {:#x}", host_after);
    check_ret!(
        ret2,
        0,
        secret,
        "the enclave's FP registers survive a host that declares FS = Initial"
    );
    ks(fid::DESTROY_ENCLAVE, eid);
}

/// sstatus.FS = Initial over whatever the FP registers hold (a false claim).
fn fs_initial() {
    // SAFETY: only FS changes (Dirty 11 -> Initial 01); the registers keep their values.
    unsafe { core::arch::asm!("csrc sstatus, {0}", in(reg) 0x4000usize) };
}

/// sstatus.FS = Off, the FP registers untouched (what Linux's trap entry does).
fn fs_off() {
    // SAFETY: only FS changes; the registers keep their values.
    unsafe { core::arch::asm!("csrc sstatus, {0}", in(reg) 0x6000usize) };
}

/// sstatus.FS on again, the FP registers untouched.
fn set_f5_keep() {
    // SAFETY: as `fs_off`.
    unsafe { core::arch::asm!("csrs sstatus, {0}", in(reg) 0x2000usize) };
}

fn utm_bytes(i: usize, offset: usize, out: &mut [u8]) {
    // SAFETY: reads the shared UTM.
    unsafe {
        core::ptr::copy_nonoverlapping(
            (utm(i) as *const u8).add(offset),
            out.as_mut_ptr(),
            out.len(),
        )
    };
}

fn set_utm_bytes(i: usize, offset: usize, data: &[u8]) {
    // SAFETY: writes the shared UTM.
    unsafe {
        core::ptr::copy_nonoverlapping(data.as_ptr(), (utm(i) as *mut u8).add(offset), data.len())
    };
}

fn print_hex(tag: &str, bytes: &[u8]) {
    crate::console::print(format_args!("# {tag} "));
    for chunk in bytes.chunks(64) {
        let mut line = [0u8; 128];
        for (j, b) in chunk.iter().enumerate() {
            line[2 * j] = b"0123456789abcdef"[(b >> 4) as usize];
            line[2 * j + 1] = b"0123456789abcdef"[(b & 15) as usize];
        }
        crate::console::print(format_args!(
            "{}",
            core::str::from_utf8(&line[..2 * chunk.len()]).unwrap_or("")
        ));
    }
    crate::console::print(format_args!("\n"));
}

/// ATTEST from the enclave: the report is printed for the Python verifier.
fn attestation() {
    use keystone_abi::sm::report::*;
    let eid = create(0).expect("create");
    command(0, 11, 5, 0);
    set_utm_bytes(0, 0x40, b"nonce");
    let (ret, _) = run_to_stop(eid, no_timer);
    check_ret!(ret, 0, 0, "sm.attest from the enclave succeeds");
    let mut report = [0u8; REPORT];
    utm_bytes(0, 0x200, &mut report);
    let len = u64::from_le_bytes(report[OFF_DATA_LEN..OFF_DATA_LEN + 8].try_into().unwrap());
    check!(len == 5 && &report[OFF_DATA..OFF_DATA + 5] == b"nonce", "the report carries the enclave's data"; "len {}", len);
    print_hex("report", &report);
    ks(fid::DESTROY_ENCLAVE, eid);

    let eid = create(0).expect("create");
    command(0, 11, (DATA_MAX + 1) as u64, 0);
    let (ret, _) = run_to_stop(eid, no_timer);
    check_ret!(
        ret,
        0,
        err::ILLEGAL_ARGUMENT,
        "sm.attest with more than 1024 bytes of data -> ILLEGAL_ARGUMENT"
    );
    ks(fid::DESTROY_ENCLAVE, eid);
    let eid = create(0).expect("create");
    let host_word = &crate::traps::TIMER_TICKS as *const _ as u64;
    command(0, 11, 5, host_word);
    let (ret, _) = run_to_stop(eid, no_timer);
    check_ret!(
        ret,
        0,
        err::ILLEGAL_ARGUMENT,
        "sm.attest with the report buffer in host memory -> ILLEGAL_ARGUMENT"
    );
    ks(fid::DESTROY_ENCLAVE, eid);
}

/// Runs the sealing command for `ident`; the key struct or the SBI error.
fn seal(ident: &[u8], key_pa: u64) -> Result<[u8; 192], usize> {
    seal_enclave(ident, key_pa, false)
}

/// Seals with the test enclave, optionally one byte different (in the
/// unused tail of its first page: same code, different measurement).
fn seal_enclave(ident: &[u8], key_pa: u64, tweak: bool) -> Result<[u8; 192], usize> {
    let a = args(0);
    load_image(&a);
    if tweak {
        // SAFETY: the EPM pool is payload memory until CREATE.
        unsafe { ((a.epm_paddr + 0xfff) as *mut u8).write_volatile(0x5a) };
    }
    let eid = create_raw(&a).value;
    command(0, 12, ident.len() as u64, key_pa);
    set_utm_bytes(0, 0x40, ident);
    let (ret, _) = run_to_stop(eid, no_timer);
    let mut key = [0u8; 192];
    utm_bytes(0, 0x200, &mut key);
    ks(fid::DESTROY_ENCLAVE, eid);
    if ret.error == 0 && ret.value == 0 {
        Ok(key)
    } else {
        Err(ret.value)
    }
}

fn sealing() {
    let a = seal(b"identifier", 0);
    let b = seal(b"identifier", 0);
    let c = seal(b"identifieR", 0);
    check!(a.is_ok() && a == b, "sm.get_sealing_key is deterministic for one enclave and identifier"; "{:?}", a.err());
    check!(c.is_ok() && a != c, "a different identifier gives a different sealing key"; "{:?}", c.err());
    if let Ok(key) = a {
        print_hex("sealing identifier", &key);
    }
    let d = seal_enclave(b"identifier", 0, true);
    check!(d.is_ok() && a != d, "a one-byte-different enclave gets a different sealing key"; "{:?}", d.err());
    let utm_pa = args(0).utm_paddr;
    check!(seal(b"identifier", utm_pa) == Err(err::ILLEGAL_ARGUMENT), "sm.get_sealing_key into memory outside the EPM -> ILLEGAL_ARGUMENT"; "accepted");
    let long = [b'x'; 4097];
    check!(seal(&long, 0) == Err(err::ILLEGAL_ARGUMENT), "sm.get_sealing_key with an over-long identifier -> ILLEGAL_ARGUMENT"; "accepted");
}

fn set_f5(v: u64) {
    // SAFETY: the payload owns its FP state; FS is switched on first.
    unsafe {
        core::arch::asm!("csrs sstatus, {0}", in(reg) 0x2000usize);
        core::arch::asm!("fmv.d.x f5, {0}", in(reg) v);
    }
}

fn f5() -> u64 {
    let v;
    // SAFETY: reads an FP register into a GPR.
    unsafe { core::arch::asm!("fmv.x.d {0}, f5", out(reg) v) };
    v
}

/// Creates enclaves from distinct slots until the SM refuses; destroys them.
fn capacity() -> (usize, usize) {
    let mut eids = [usize::MAX; 32];
    let mut n = 0;
    let error = loop {
        match create(n) {
            Ok(eid) => {
                eids[n] = eid;
                n += 1;
            }
            Err(e) => break e,
        }
        if n == eids.len() {
            break 0;
        }
    };
    for &eid in &eids[..n] {
        ks(fid::DESTROY_ENCLAVE, eid);
    }
    (n, error)
}

fn create_destroy_cycles() {
    let (before, why) = capacity();
    // Keystone's generic platform allows 6 (PMP registers 1..6); here the
    // region table (16 slots: SM, OS and two per enclave) is the limit.
    check!(before >= 6, "{before} enclaves can be alive at once (then error {why})"; "only {}", before);
    let mut failures = 0;
    for i in 0..1000 {
        match create(i % 4) {
            Ok(eid) => {
                if ks(fid::DESTROY_ENCLAVE, eid).error != 0 {
                    failures += 1;
                }
            }
            Err(_) => failures += 1,
        }
    }
    check!(failures == 0, "1000 create/destroy cycles all succeed"; "{} failed", failures);
    let (after, _) = capacity();
    check!(after == before, "no slot or PMP entry leaked: capacity {after} after 1000 cycles"; "was {}", before);
}

/// Enclave the second hart runs, and what its RUN finally returned.
static OTHER_EID: AtomicUsize = AtomicUsize::new(0);
static OTHER_DONE: AtomicUsize = AtomicUsize::new(0);
static OTHER_VALUE: AtomicUsize = AtomicUsize::new(0);
static OTHER_INTERRUPTS: AtomicUsize = AtomicUsize::new(0);

/// Second-hart job: run enclave OTHER_EID to its end.
pub fn other_hart_job() {
    let eid = OTHER_EID.load(Ordering::SeqCst);
    let (ret, n) = run_to_stop(eid, || {});
    OTHER_VALUE.store(ret.value, Ordering::SeqCst);
    OTHER_INTERRUPTS.store(n, Ordering::SeqCst);
    OTHER_DONE.store(ret.error + 1, Ordering::SeqCst);
}

fn two_harts(other: usize) {
    let long = create(1).expect("create");
    let count = 30_000_000u64;
    command(1, 3, count, 0);
    OTHER_EID.store(long, Ordering::SeqCst);
    OTHER_DONE.store(0, Ordering::SeqCst);
    call(
        sbi_spec::hsm::EID_HSM,
        sbi_spec::hsm::HART_START,
        [other, crate::rt::secondary_entry(), harts::TAG_ENCLAVE],
    );
    let started = wait_for(SECOND, || utm_word(1, 5) == 1);
    check!(started, "hart {other} runs an enclave"; "its start marker never appeared");
    check_err!(
        ks(fid::DESTROY_ENCLAVE, long),
        err::NOT_DESTROYABLE,
        "sm.destroy(enclave running on hart {other}) -> NOT_DESTROYABLE"
    );
    let short = create(0).expect("create");
    command(0, 1, 0x5151, 0);
    let (ret, _) = run_to_stop(short, no_timer);
    check_ret!(
        ret,
        0,
        0x5151,
        "a second enclave runs on this hart while the first runs on hart {other}"
    );
    ks(fid::DESTROY_ENCLAVE, short);
    let done = wait_for(30 * SECOND, || OTHER_DONE.load(Ordering::SeqCst) != 0);
    let value = OTHER_VALUE.load(Ordering::SeqCst) as u64;
    check!(done && OTHER_DONE.load(Ordering::SeqCst) == 1 && value == count, "the enclave on hart {other} exits with its count despite the other harts' PMP updates"; "done {}, error {}, value {}", done, OTHER_DONE.load(Ordering::SeqCst) as isize - 1, value);
    crate::println!(
        "# enclave on hart {other}: {} interrupts",
        OTHER_INTERRUPTS.load(Ordering::SeqCst)
    );
    check_ret!(
        ks(fid::DESTROY_ENCLAVE, long),
        0,
        0,
        "sm.destroy of the other hart's enclave once it exited"
    );
    let down = wait_for(SECOND, || {
        call(sbi_spec::hsm::EID_HSM, sbi_spec::hsm::HART_GET_STATUS, [other, 0, 0]).value
            == sbi_spec::hsm::hart_state::STOPPED
    });
    check!(down, "hart {other} stops after its enclave"; "still running");
}

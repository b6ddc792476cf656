//! The checks, one group per SBI extension, plus PMP isolation and trap routing.

use crate::harts::{self, wait_for};
use crate::rt;
use crate::sbi::{self, call, legacy, sip, SECOND, SIP_STIP, SSTATUS_SIE};
use crate::tap::{arg_value, check, check_err, check_ret};
use crate::traps;
use core::sync::atomic::Ordering;
use keystone_abi::layout::{MAX_HARTS, SM_BASE, SM_SIZE};
use keystone_abi::sm::{impl_version, SBI_IMPL_ID};
use sbi_spec::binary::SbiRet;
use sbi_spec::{base, dbcn, hsm, legacy as leg, srst, time};

const NOT_SUPPORTED: usize = sbi_spec::binary::RET_ERR_NOT_SUPPORTED;
const INVALID_PARAM: usize = sbi_spec::binary::RET_ERR_INVALID_PARAM;
const INVALID_ADDRESS: usize = sbi_spec::binary::RET_ERR_INVALID_ADDRESS;
const ALREADY_AVAILABLE: usize = sbi_spec::binary::RET_ERR_ALREADY_AVAILABLE;

struct Machine {
    hartid: usize,
    harts: [bool; MAX_HARTS],
    dram_end: usize,
}

#[unsafe(no_mangle)]
extern "C" fn payload_main(hartid: usize, dtb: usize) -> ! {
    // SAFETY: the SM passes the device tree QEMU built in a1.
    let fdt = unsafe { fdt::Fdt::from_ptr(dtb as *const u8) }.expect("a1 must hold a device tree");
    let args = fdt.chosen().bootargs().unwrap_or("");
    println!("payload: SBI conformance on hart {hartid} (bootargs \"{args}\")");
    crate::harts::on_enclave_job(crate::enclaves::other_hart_job);
    crate::harts::on_attack_job(crate::attacks::secondary);
    if args.split_whitespace().any(|a| a == "hang") {
        println!("payload: hang requested");
        loop {
            core::hint::spin_loop();
        }
    }
    if args.split_whitespace().any(|a| a == "bench-phases") {
        crate::bench::phases();
        sbi::shutdown(true);
    }
    if args.split_whitespace().any(|a| a == "bench") {
        crate::bench::run();
        sbi::shutdown(true);
    }
    if args.split_whitespace().any(|a| a == "runtime") {
        crate::runtime_host::run(args);
        sbi::shutdown(crate::tap::finish());
    }
    if args.split_whitespace().any(|a| a == "clint") {
        crate::clint_attack::run(&fdt, hartid);
        sbi::shutdown(crate::tap::finish());
    }
    if args.split_whitespace().any(|a| a == "attack=vs-mprv") {
        crate::attacks::vs_mprv(&fdt, hartid);
        sbi::shutdown(crate::tap::finish());
    }
    if args.split_whitespace().any(|a| a == "attack=reset-race") {
        crate::attacks::reset_race(&fdt, hartid, arg_value(args, "rounds=").unwrap_or(100));
        sbi::shutdown(crate::tap::finish());
    }
    if args.split_whitespace().any(|a| a == "attack=reset-initrd") {
        crate::attacks::reset_initrd(&fdt);
        sbi::shutdown(crate::tap::finish());
    }
    if args.split_whitespace().any(|a| a == "attack=reset-claim") {
        crate::attacks::reset_claim();
        sbi::shutdown(crate::tap::finish());
    }
    if let Some(kind) = args.split_whitespace().find_map(|a| a.strip_prefix("attack=")) {
        crate::attacks::reset(kind);
        sbi::shutdown(crate::tap::finish());
    }
    if args.split_whitespace().any(|a| a == "csr-sweep") {
        crate::csr_sweep::run(&fdt, hartid);
        sbi::shutdown(crate::tap::finish());
    }
    if args.split_whitespace().any(|a| a == "attacks") {
        crate::attacks::run(&fdt, hartid, args);
        sbi::shutdown(crate::tap::finish());
    }
    if let Some(calls) = arg_value(args, "fuzz=") {
        let hw = crate::attacks::Hw::from_fdt(&fdt, hartid);
        crate::fuzz::run(calls, arg_value(args, "seed=").unwrap_or(1), &hw);
        sbi::shutdown(crate::tap::finish());
    }
    if args.split_whitespace().any(|a| a == "fail") {
        println!("payload: failure shutdown requested");
        sbi::shutdown(false);
    }
    let mut harts = [false; MAX_HARTS];
    for cpu in fdt.cpus() {
        let id = cpu.ids().first();
        if id < MAX_HARTS {
            harts[id] = true;
        }
    }
    let mem = fdt.memory().regions().next().expect("no memory node");
    let m =
        Machine { hartid, harts, dram_end: mem.starting_address as usize + mem.size.unwrap_or(0) };

    device_tree(&fdt);
    base_extension();
    dbcn_extension(&m);
    legacy_console();
    timer();
    srst_arguments();
    hsm_extension(&m);
    crate::smp::ipis_and_fences(m.hartid, &m.harts);
    crate::smp::suspend(m.hartid, &m.harts);
    pmp_isolation();
    trap_redirection();
    crate::enclaves::run(m.hartid, &m.harts);
    sbi::shutdown(crate::tap::finish())
}

fn device_tree(fdt: &fdt::Fdt) {
    let reserved =
        fdt.find_node("/reserved-memory").into_iter().flat_map(|n| n.children()).find(|c| {
            c.reg()
                .and_then(|mut r| r.next())
                .is_some_and(|r| r.starting_address as usize == SM_BASE && r.size == Some(SM_SIZE))
        });
    check!(reserved.is_some(), "dtb: /reserved-memory covers the SM region"; "no child with reg = SM region");
    let no_map = reserved.is_some_and(|n| n.property("no-map").is_some());
    check!(no_map, "dtb: the SM's reserved-memory node is no-map"; "no-map missing");
}

fn base_extension() {
    use base::*;
    check_ret!(
        call(EID_BASE, GET_SBI_SPEC_VERSION, [0; 3]),
        0,
        0x0200_0000,
        "base.get_spec_version is 2.0"
    );
    check_ret!(call(EID_BASE, GET_SBI_IMPL_ID, [0; 3]), 0, SBI_IMPL_ID, "base.get_impl_id");
    let version = impl_version(0, 1, 0);
    check_ret!(call(EID_BASE, GET_SBI_IMPL_VERSION, [0; 3]), 0, version, "base.get_impl_version");
    for (name, eid) in [
        ("BASE", EID_BASE),
        ("TIME", time::EID_TIME),
        ("HSM", hsm::EID_HSM),
        ("SRST", srst::EID_SRST),
        ("DBCN", dbcn::EID_DBCN),
        ("legacy console_putchar", leg::LEGACY_CONSOLE_PUTCHAR),
        ("legacy set_timer", leg::LEGACY_SET_TIMER),
    ] {
        check_ret!(call(EID_BASE, PROBE_EXTENSION, [eid, 0, 0]), 0, 1, "base.probe({name}) = 1");
    }
    check_ret!(
        call(EID_BASE, PROBE_EXTENSION, [0x0abc_def0, 0, 0]),
        0,
        0,
        "base.probe(unknown) = 0"
    );
    for (name, fid) in
        [("mvendorid", GET_MVENDORID), ("marchid", GET_MARCHID), ("mimpid", GET_MIMPID)]
    {
        let ret = call(EID_BASE, fid, [0; 3]);
        check!(ret.error == 0, "base.get_{name} succeeds"; "error {}", ret.error as isize);
    }
    check_err!(
        call(EID_BASE, 0x77, [0; 3]),
        NOT_SUPPORTED,
        "base: unknown function -> NOT_SUPPORTED"
    );
    check_err!(call(0x0abc_def0, 0, [0; 3]), NOT_SUPPORTED, "unknown extension -> NOT_SUPPORTED");
}

fn dbcn_extension(m: &Machine) {
    use dbcn::*;
    let msg = b"dbcn: console_write works\n";
    let addr = msg.as_ptr() as usize;
    check_ret!(
        call(EID_DBCN, CONSOLE_WRITE, [msg.len(), addr, 0]),
        0,
        msg.len(),
        "dbcn.write returns the byte count"
    );
    check_ret!(call(EID_DBCN, CONSOLE_WRITE, [0, addr, 0]), 0, 0, "dbcn.write of 0 bytes");
    check_err!(
        call(EID_DBCN, CONSOLE_WRITE, [16, SM_BASE, 0]),
        INVALID_PARAM,
        "dbcn.write from SM memory -> INVALID_PARAM"
    );
    check_err!(
        call(EID_DBCN, CONSOLE_WRITE, [16, SM_BASE + SM_SIZE - 8, 0]),
        INVALID_PARAM,
        "dbcn.write straddling the SM's end -> INVALID_PARAM"
    );
    check_err!(
        call(EID_DBCN, CONSOLE_WRITE, [16, 0x1000, 0]),
        INVALID_PARAM,
        "dbcn.write outside DRAM -> INVALID_PARAM"
    );
    check_err!(
        call(EID_DBCN, CONSOLE_WRITE, [16, m.dram_end - 8, 0]),
        INVALID_PARAM,
        "dbcn.write past DRAM's end -> INVALID_PARAM"
    );
    check_err!(
        call(EID_DBCN, CONSOLE_WRITE, [msg.len(), addr, 1]),
        INVALID_PARAM,
        "dbcn.write with base_hi != 0 -> INVALID_PARAM"
    );
    check_err!(
        call(EID_DBCN, CONSOLE_WRITE, [usize::MAX, addr, 0]),
        INVALID_PARAM,
        "dbcn.write with a wrapping length -> INVALID_PARAM"
    );
    check_ret!(call(EID_DBCN, CONSOLE_WRITE_BYTE, [b'\n' as usize, 0, 0]), 0, 0, "dbcn.write_byte");
    let mut buf = [0u8; 8];
    let buf_addr = buf.as_mut_ptr() as usize;
    check_ret!(
        call(EID_DBCN, CONSOLE_READ, [buf.len(), buf_addr, 0]),
        0,
        0,
        "dbcn.read with no input returns 0"
    );
    check_err!(
        call(EID_DBCN, CONSOLE_READ, [8, SM_BASE + 0x1000, 0]),
        INVALID_PARAM,
        "dbcn.read into SM memory -> INVALID_PARAM"
    );
    check_err!(call(EID_DBCN, 9, [0; 3]), NOT_SUPPORTED, "dbcn: unknown function -> NOT_SUPPORTED");
}

fn legacy_console() {
    check!(legacy(leg::LEGACY_CONSOLE_PUTCHAR, b'\n' as usize) == 0, "legacy.console_putchar returns 0"; "non-zero");
    let ret = legacy(leg::LEGACY_CONSOLE_GETCHAR, 0);
    check!(ret as isize == -1, "legacy.console_getchar with no input returns -1"; "got {:#x}", ret);
    let ret = legacy(0x0f, 0);
    check!(ret as isize == -2, "legacy: unimplemented call returns NOT_SUPPORTED"; "got {}", ret as isize);
}

/// Arms the timer through `arm`, waits for the interrupt, and says if it came.
fn timer_fires(arm: impl FnOnce(u64)) -> bool {
    let before = traps::TIMER_TICKS.load(Ordering::SeqCst);
    arm(sbi::time() + SECOND / 1000);
    // SAFETY: enables only the supervisor timer; the handler masks it again.
    unsafe {
        core::arch::asm!("csrs sie, {0}", in(reg) SIP_STIP);
        core::arch::asm!("csrs sstatus, {0}", in(reg) SSTATUS_SIE);
    }
    let fired = wait_for(SECOND, || traps::TIMER_TICKS.load(Ordering::SeqCst) > before);
    // SAFETY: back to polling mode.
    unsafe {
        core::arch::asm!("csrc sstatus, {0}", in(reg) SSTATUS_SIE);
        core::arch::asm!("csrc sie, {0}", in(reg) SIP_STIP);
    }
    fired
}

fn timer() {
    let t0 = sbi::time();
    let t1 = sbi::time();
    check!(t1 >= t0 && t0 != 0, "time CSR readable from S-mode"; "time {} then {}", t0, t1);
    let fired = timer_fires(|when| {
        call(time::EID_TIME, time::SET_TIMER, [when as usize, 0, 0]);
    });
    check!(fired, "time.set_timer raises the supervisor timer interrupt"; "no interrupt within 1 s");
    call(time::EID_TIME, time::SET_TIMER, [usize::MAX, 0, 0]);
    check!(sip() & SIP_STIP == 0, "time.set_timer(far future) clears STIP"; "sip = {:#x}", sip());
    let fired = timer_fires(|when| {
        legacy(leg::LEGACY_SET_TIMER, when as usize);
    });
    check!(fired, "legacy.set_timer raises the supervisor timer interrupt"; "no interrupt within 1 s");
    legacy(leg::LEGACY_SET_TIMER, usize::MAX);
    check_err!(
        call(time::EID_TIME, 1, [0; 3]),
        NOT_SUPPORTED,
        "time: unknown function -> NOT_SUPPORTED"
    );
}

fn srst_arguments() {
    use srst::*;
    check_err!(
        call(EID_SRST, SYSTEM_RESET, [0x1000, 0, 0]),
        INVALID_PARAM,
        "srst: reserved reset type -> INVALID_PARAM"
    );
    check_err!(
        call(EID_SRST, SYSTEM_RESET, [0, 0x1000, 0]),
        INVALID_PARAM,
        "srst: reserved reset reason -> INVALID_PARAM"
    );
    check_err!(
        call(EID_SRST, SYSTEM_RESET, [0xF000_0000, 0, 0]),
        NOT_SUPPORTED,
        "srst: vendor reset type -> NOT_SUPPORTED"
    );
    check_err!(call(EID_SRST, 1, [0; 3]), NOT_SUPPORTED, "srst: unknown function -> NOT_SUPPORTED");
}

fn status(hart: usize) -> SbiRet {
    call(hsm::EID_HSM, hsm::HART_GET_STATUS, [hart, 0, 0])
}

fn hsm_extension(m: &Machine) {
    use hsm::*;
    let started = hart_state::STARTED;
    let stopped = hart_state::STOPPED;
    check_ret!(status(m.hartid), 0, started, "hsm.get_status(self) = STARTED");
    check_err!(status(9999), INVALID_PARAM, "hsm.get_status(no such hart) -> INVALID_PARAM");
    check_err!(
        call(EID_HSM, HART_START, [9999, rt::secondary_entry(), 0]),
        INVALID_PARAM,
        "hsm.hart_start(no such hart) -> INVALID_PARAM"
    );
    check_err!(
        call(EID_HSM, HART_START, [m.hartid, rt::secondary_entry(), 0]),
        ALREADY_AVAILABLE,
        "hsm.hart_start(self) -> ALREADY_AVAILABLE"
    );
    check_err!(
        call(EID_HSM, 0x42, [0; 3]),
        NOT_SUPPORTED,
        "hsm: unknown function -> NOT_SUPPORTED"
    );
    for hart in (0..MAX_HARTS).filter(|&h| m.harts[h] && h != m.hartid) {
        check_ret!(status(hart), 0, stopped, "hsm.get_status(hart {hart}) = STOPPED before start");
        check_err!(
            call(EID_HSM, HART_START, [hart, SM_BASE, 0]),
            INVALID_ADDRESS,
            "hsm.hart_start(hart {hart}) into SM memory -> INVALID_ADDRESS"
        );
        for round in 1..=2usize {
            let opaque = harts::TAG_STOP | (0x5eed_0000 + hart * 16 + round);
            harts::SEEN[hart].store(0, Ordering::SeqCst);
            harts::HOLD.store(true, Ordering::SeqCst);
            let ret = call(EID_HSM, HART_START, [hart, rt::secondary_entry(), opaque]);
            check_ret!(ret, 0, 0, "hsm.hart_start(hart {hart}) round {round}");
            let came = wait_for(SECOND, || harts::SEEN[hart].load(Ordering::SeqCst) == opaque);
            check!(came, "hart {hart} runs with a0 = hartid, a1 = opaque (round {round})"; "SEEN = {:#x}", harts::SEEN[hart].load(Ordering::SeqCst));
            check_ret!(
                status(hart),
                0,
                started,
                "hsm.get_status(hart {hart}) = STARTED while running"
            );
            check_err!(
                call(EID_HSM, HART_START, [hart, rt::secondary_entry(), 0]),
                ALREADY_AVAILABLE,
                "hsm.hart_start(running hart {hart}) -> ALREADY_AVAILABLE"
            );
            harts::HOLD.store(false, Ordering::SeqCst);
            let stopped_again = wait_for(SECOND, || status(hart).value == stopped);
            check!(stopped_again, "hsm.hart_stop returns hart {hart} to STOPPED (round {round})"; "status {}", status(hart).value);
        }
    }
}

fn load(addr: usize) -> usize {
    let v;
    // SAFETY: a probe: the access may fault, which the trap handler records.
    unsafe { core::arch::asm!("ld {0}, 0({1})", out(reg) v, in(reg) addr) };
    v
}

fn store(addr: usize, value: usize) {
    // SAFETY: as for `load`.
    unsafe { core::arch::asm!("sd {0}, 0({1})", in(reg) value, in(reg) addr) };
}

const LOAD_ACCESS_FAULT: usize = 5;
const STORE_ACCESS_FAULT: usize = 7;
const ILLEGAL_INSTRUCTION: usize = 2;

fn pmp_isolation() {
    for addr in [SM_BASE, SM_BASE + SM_SIZE / 2, SM_BASE + SM_SIZE - 8] {
        let got = traps::catch(|| {
            load(addr);
        });
        check!(got == Some((LOAD_ACCESS_FAULT, addr)), "pmp: S-mode load from SM memory {addr:#x} faults"; "got {:?}", got);
        let got = traps::catch(|| store(addr, 0xdead_beef));
        check!(got == Some((STORE_ACCESS_FAULT, addr)), "pmp: S-mode store to SM memory {addr:#x} faults"; "got {:?}", got);
    }
    let got = traps::catch(|| {
        load(SM_BASE + SM_SIZE);
    });
    check!(got.is_none(), "pmp: memory right after the SM is open to S-mode"; "got {:?}", got);
}

fn trap_redirection() {
    let got = traps::catch(|| {
        // SAFETY: a probe: an M-mode CSR read from S-mode must trap.
        unsafe { core::arch::asm!("csrr {0}, mscratch", out(reg) _) };
    });
    check!(
        matches!(got, Some((ILLEGAL_INSTRUCTION, _))),
        "illegal instruction in S-mode is redirected to stvec with scause 2"; "got {:?}", got
    );
    let got = traps::catch(|| {
        // SAFETY: a probe: ebreak is delegated straight to S-mode.
        unsafe { core::arch::asm!("ebreak") };
    });
    check!(matches!(got, Some((3, _))), "breakpoint reaches S-mode (delegated)"; "got {:?}", got);
}

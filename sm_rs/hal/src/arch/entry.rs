//! Reset entry, the M-mode trap vector and the jumps into S-mode.
//!
//! Kept to the few instructions that cannot be written in Rust: stack setup,
//! .bss clearing, register save/restore and `mret`.

use keystone_abi::layout::MAX_HARTS;

/// Bytes of M-mode stack per hart.
pub const STACK_SIZE: usize = 16 * 1024;

/// General registers of the interrupted context, x0..x31 (x2 = its sp).
#[repr(C)]
pub struct TrapFrame {
    pub regs: [usize; 32],
}

impl TrapFrame {
    /// All zero: a world that has not run yet.
    pub const ZERO: Self = Self { regs: [0; 32] };
}

impl TrapFrame {
    /// Argument/return register a`n` (x10 + n).
    pub fn a(&self, n: usize) -> usize {
        self.regs[10 + n]
    }
    /// Sets argument/return register a`n`.
    pub fn set_a(&mut self, n: usize, value: usize) {
        self.regs[10 + n] = value;
    }
}

const _: () = assert!(core::mem::size_of::<TrapFrame>() == 32 * 8);

/// A world's GPRs in a static: the trap vector saves into it and restores
/// from it while the world is on a hart (see the trap vector).
#[repr(transparent)]
pub struct FrameCell(core::cell::UnsafeCell<TrapFrame>);

// SAFETY: a frame belongs to one world, and a world runs on at most one hart
// at a time; only that hart's trap vector and trap handler touch it then.
unsafe impl Sync for FrameCell {}

impl FrameCell {
    /// A frame of zeros.
    pub const fn new() -> Self {
        Self(core::cell::UnsafeCell::new(TrapFrame::ZERO))
    }
    /// The frame, for the trap vector and for the owner of the world.
    pub const fn get(&self) -> *mut TrapFrame {
        self.0.get()
    }
}

impl Default for FrameCell {
    fn default() -> Self {
        Self::new()
    }
}

core::arch::global_asm!(
    r#"
    .option arch, +m, +a, +f, +d, +c
    .section .text.entry, "ax"
    .globl _start
_start:
    csrw    mie, zero
    csrw    mscratch, zero
    la      t0, sm_trap_vector
    csrw    mtvec, t0
    csrr    t0, mhartid
    li      t1, {max_harts}
    bgeu    t0, t1, .Lpark_forever
    la      sp, __stack_top
    li      t1, {stack_size}
    mul     t1, t1, t0
    sub     sp, sp, t1
    addi    sp, sp, -{reserved}
    bnez    t0, .Lwait_bss
    la      t1, __bss_start
    la      t2, __bss_end
1:  bgeu    t1, t2, 2f
    sd      zero, 0(t1)
    addi    t1, t1, 8
    j       1b
2:  mv      s0, t0
    mv      s1, a1
    call    sm_boot_stage
    mv      t0, s0
    mv      a1, s1
    fence   rw, rw
    la      t1, sm_bss_ready
    li      t2, 1
    sd      t2, 0(t1)
    j       3f
.Lwait_bss:
    la      t1, sm_bss_ready
4:  ld      t2, 0(t1)
    beqz    t2, 4b
    fence   rw, rw
3:  mv      a0, t0
    call    sm_main
.Lpark_forever:
    wfi
    j       .Lpark_forever

    .section .data
    .balign 8
    .globl sm_bss_ready
sm_bss_ready:
    .dword 0

    .section .stack, "aw", @nobits
    .balign 4096
    .globl __stack_bottom
__stack_bottom:
    .space {stack_size} * {max_harts}
    .globl __stack_top
__stack_top:
"#,
    max_harts = const MAX_HARTS,
    stack_size = const STACK_SIZE,
    reserved = const RESERVED,
);

// The trap vector. mscratch holds the hart's stack top, encoded (see
// `encode_scratch`), while S/U-mode runs and 0 while M-mode runs, so a trap
// taken in M-mode keeps its own stack.
//
// x9 (s1), saved first, then says where the trap came from (1: S/U-mode,
// 0: M-mode); the handler gets it and the stack base in a1/a2 and leaves
// through `sm_trap_resume`, so the return path needs no CSR read.
//
// A trap from S/U-mode saves the GPRs straight into the frame of the world
// that runs on the hart (the word at top - 16, see `set_world_frame`), and
// the handler returns the frame to resume: the same one, or after a world
// switch the other world's. So a world switch copies no GPRs at all. A trap
// taken in M-mode builds its frame on the stack, as usual.
//
// A trap from a lower mode may arrive with mstatus.MPRV set: QEMU copies all
// of vsstatus into mstatus when a hart enters a virtual mode, so a host can
// smuggle MPRV in through vsstatus, and the SM's own stack stores would then
// be translated by the host's guest page tables. The encoded mscratch value is
// at the same time the mask that clears MPRV (its other bits are WPRI bits of
// mstatus), so MPRV is gone before the first memory access, with no register
// of the interrupted world touched.
core::arch::global_asm!(
    r#"
    .option arch, +m, +a, +f, +d, +c
    .section .text
    .balign 4
    .globl sm_trap_vector
sm_trap_vector:
    csrrw   sp, mscratch, sp
    bnez    sp, .Lfrom_lower
    csrrw   sp, mscratch, sp
    addi    sp, sp, -256
    sd      x1, 1*8(sp)
    addi    x1, sp, 256
    sd      x1, 2*8(sp)
    mv      x1, sp
    sd      x5, 5*8(x1)
    sd      x9, 9*8(x1)
    li      x9, 0
    j       .Lsave_rest
.Lfrom_lower:
    csrc    mstatus, sp
    srli    sp, sp, {scratch_shift}
    slli    sp, sp, 12
    sd      x1, -8(sp)
    ld      x1, -16(sp)
    addi    sp, sp, -{reserved}
    sd      x5, 5*8(x1)
    sd      x9, 9*8(x1)
    li      x9, 1
    ld      x5, {reserved}-8(sp)
    sd      x5, 1*8(x1)
    csrr    x5, mscratch
    sd      x5, 2*8(x1)
    csrw    mscratch, zero
.Lsave_rest:
    sd      x3, 3*8(x1)
    sd      x4, 4*8(x1)
    sd      x6, 6*8(x1)
    sd      x7, 7*8(x1)
    sd      x8, 8*8(x1)
    sd      x10, 10*8(x1)
    sd      x11, 11*8(x1)
    sd      x12, 12*8(x1)
    sd      x13, 13*8(x1)
    sd      x14, 14*8(x1)
    sd      x15, 15*8(x1)
    sd      x16, 16*8(x1)
    sd      x17, 17*8(x1)
    sd      x18, 18*8(x1)
    sd      x19, 19*8(x1)
    sd      x20, 20*8(x1)
    sd      x21, 21*8(x1)
    sd      x22, 22*8(x1)
    sd      x23, 23*8(x1)
    sd      x24, 24*8(x1)
    sd      x25, 25*8(x1)
    sd      x26, 26*8(x1)
    sd      x27, 27*8(x1)
    sd      x28, 28*8(x1)
    sd      x29, 29*8(x1)
    sd      x30, 30*8(x1)
    sd      x31, 31*8(x1)
    mv      a0, x1
    mv      a1, x9
    mv      a2, sp
    call    sm_trap_handler

    // sm_trap_resume(frame, from_lower, base): the handler's way out (it
    // never returns, so it saves no callee-saved registers of its own).
    .globl sm_trap_resume
sm_trap_resume:
    beqz    a1, 5f
    sd      a0, {reserved}-16(a2)
    ld      t0, {reserved}-24(a2)
    csrw    mscratch, t0
5:  mv      x1, a0
    ld      x3, 3*8(x1)
    ld      x4, 4*8(x1)
    ld      x5, 5*8(x1)
    ld      x6, 6*8(x1)
    ld      x7, 7*8(x1)
    ld      x8, 8*8(x1)
    ld      x9, 9*8(x1)
    ld      x10, 10*8(x1)
    ld      x11, 11*8(x1)
    ld      x12, 12*8(x1)
    ld      x13, 13*8(x1)
    ld      x14, 14*8(x1)
    ld      x15, 15*8(x1)
    ld      x16, 16*8(x1)
    ld      x17, 17*8(x1)
    ld      x18, 18*8(x1)
    ld      x19, 19*8(x1)
    ld      x20, 20*8(x1)
    ld      x21, 21*8(x1)
    ld      x22, 22*8(x1)
    ld      x23, 23*8(x1)
    ld      x24, 24*8(x1)
    ld      x25, 25*8(x1)
    ld      x26, 26*8(x1)
    ld      x27, 27*8(x1)
    ld      x28, 28*8(x1)
    ld      x29, 29*8(x1)
    ld      x30, 30*8(x1)
    ld      x31, 31*8(x1)
    ld      x2, 2*8(x1)
    ld      x1, 1*8(x1)
    mret

    .globl sm_enter_supervisor
sm_enter_supervisor:
    csrw    mepc, a2
    csrw    mscratch, a3
    li      t0, {mpp_mask}
    csrc    mstatus, t0
    li      t0, {mpp_s}
    csrs    mstatus, t0
    li      t0, {mpie}
    csrc    mstatus, t0
    li      t0, {sie}
    csrc    mstatus, t0
    csrw    satp, zero
    li      t0, 0
    li      t1, 0
    li      t2, 0
    li      a2, 0
    li      a3, 0
    mv      sp, zero
    mret

    .globl sm_park_on_fresh_stack
sm_park_on_fresh_stack:
    mv      sp, a1
    call    sm_parked_hart_loop
6:  wfi
    j       6b
"#,
    scratch_shift = const SCRATCH_SHIFT,
    reserved = const RESERVED,
    mpp_mask = const super::bits::MSTATUS_MPP_MASK,
    mpp_s = const super::bits::MSTATUS_MPP_S,
    mpie = const super::bits::MSTATUS_MPIE,
    sie = const super::bits::MSTATUS_SIE,
);

unsafe extern "C" {
    fn sm_trap_resume(frame: *mut TrapFrame, from_lower: usize, base: usize) -> !;
    fn sm_enter_supervisor(hartid: usize, arg: usize, entry: usize, stack_top: usize) -> !;
    fn sm_park_on_fresh_stack(hartid: usize, stack_top: usize) -> !;
    static __stack_top: u8;
}

/// Where the encoded stack top sits in mscratch: bits 40.., which are WPRI
/// in mstatus, so `csrc mstatus, <encoded>` clears MPRV and nothing else.
const SCRATCH_SHIFT: usize = 40;

/// mscratch's value for a hart whose M stack top is `top` (4 KiB aligned):
/// the top's page number at bit 40 and MPRV's bit, see the trap vector.
pub const fn encode_scratch(top: usize) -> usize {
    ((top >> 12) << SCRATCH_SHIFT) | super::bits::MSTATUS_MPRV
}

const _: () = assert!(STACK_SIZE.is_multiple_of(4096));

/// Top of `hartid`'s M-mode stack, where the trap vector builds its frames.
pub fn stack_top(hartid: usize) -> usize {
    let top = core::ptr::addr_of!(__stack_top) as usize;
    top - hartid * STACK_SIZE
}

/// Leaves the trap handler: restores `frame`'s GPRs and returns to its
/// world. `from_lower` and `base` are the values the trap vector passed to
/// the handler (where the trap came from, and the stack base it used).
/// # Safety
/// `frame` is the frame the vector filled or, after a world switch, the
/// frame of the world now on the hart, whose CSRs (mepc, mstatus...) are set.
#[inline(always)]
pub unsafe fn resume(frame: *mut TrapFrame, from_lower: usize, base: usize) -> ! {
    // SAFETY: forwarded to the caller.
    unsafe { sm_trap_resume(frame, from_lower, base) }
}

/// Bytes at the top of each hart's stack that are not stack: the trap
/// vector's scratch word (top - 8), the frame of the world running on the
/// hart (top - 16) and the hart's encoded mscratch value (top - 24), which
/// the vector puts back when it returns to S/U-mode.
const RESERVED: usize = 32;

/// Leaves M-mode for S-mode at `entry` with a0 = hartid, a1 = arg, satp = 0;
/// the world's traps save its GPRs into `frame`.
/// # Safety
/// `frame` is valid for reads and writes and used by no one else while the
/// world runs on this hart and the SM handles its traps.
pub unsafe fn enter_supervisor(
    hartid: usize,
    arg: usize,
    entry: usize,
    frame: *mut TrapFrame,
) -> ! {
    // From here on lower-privilege code may write memory outside the SM.
    crate::phys::lower_privilege_starting();
    let top = stack_top(hartid);
    // SAFETY: the words at top - 16 and top - 24 are reserved (Rust's stack
    // starts below them, see `_start` and `park_on_fresh_stack`); the trap
    // vector reads them.
    unsafe {
        ((top - 16) as *mut *mut TrapFrame).write(frame);
        ((top - 24) as *mut usize).write(encode_scratch(top));
    }
    // SAFETY: the caller's hart is initialised (mtvec, PMP, delegation) and
    // its M stack top is handed to the trap vector through mscratch.
    unsafe { sm_enter_supervisor(hartid, arg, entry, encode_scratch(top)) }
}

/// Drops the current M-mode stack and waits in the parked loop (HSM stop).
pub fn park_on_fresh_stack(hartid: usize) -> ! {
    // SAFETY: nothing on this hart's stack is used again: the parked loop
    // either stays parked or leaves through `enter_supervisor`.
    unsafe { sm_park_on_fresh_stack(hartid, stack_top(hartid) - RESERVED) }
}

//! Entry, trap vector and the drop to U-mode. While the eapp runs, sscratch
//! holds the top of the kernel stack; while the runtime runs it holds 0, so a
//! trap taken by the runtime itself is told apart and ends the enclave.
//!
//! The vector saves only what the Rust code it calls may change: the
//! caller-saved registers, sp and sepc. The callee-saved ones (s0..s11) are
//! preserved by the calling convention, and gp/tp are never allocated by the
//! compiler, so they reach the eapp again untouched; the first drop to the
//! eapp zeroes them instead.

use crate::{mem, slice, stack, syscall};
use keystone_abi::eyrie::{cause, exit_code};
use runtime::arch::exit_enclave;

/// The eapp's registers at a trap, by number (x[2] = user sp; only the
/// caller-saved ones and sp are stored), and sepc.
#[repr(C)]
pub struct TrapFrame {
    pub x: [usize; 32],
    pub sepc: usize,
    _pad: usize,
}

const FRAME: usize = core::mem::size_of::<TrapFrame>();
const _: () = assert!(FRAME == 34 * 8 && FRAME % 16 == 0);

core::arch::global_asm!(
    r#"
    .section .text.entry, "ax"
    .globl _start
_start:
    lla     sp, __kstack_top
    lla     t0, rt_trap_vector
    csrw    stvec, t0
    csrw    sscratch, zero
    call    rt_main
1:  j       1b

    .text
    .balign 4
rt_trap_vector:
    csrrw   sp, sscratch, sp
    beqz    sp, 2f
    addi    sp, sp, -{frame}
    sd x1, 8(sp)
    sd x5, 40(sp)
    sd x6, 48(sp)
    sd x7, 56(sp)
    sd x10, 80(sp)
    sd x11, 88(sp)
    sd x12, 96(sp)
    sd x13, 104(sp)
    sd x14, 112(sp)
    sd x15, 120(sp)
    sd x16, 128(sp)
    sd x17, 136(sp)
    sd x28, 224(sp)
    sd x29, 232(sp)
    sd x30, 240(sp)
    sd x31, 248(sp)
    csrr    t0, sscratch
    sd      t0, 16(sp)
    csrr    t0, sepc
    sd      t0, 256(sp)
    csrw    sscratch, zero
    mv      a0, sp
    call    rt_user_trap

    .globl rt_return_to_user
rt_return_to_user:
    ld      t0, 256(sp)
    csrw    sepc, t0
    addi    t0, sp, {frame}
    csrw    sscratch, t0
    ld x1, 8(sp)
    ld x5, 40(sp)
    ld x6, 48(sp)
    ld x7, 56(sp)
    ld x10, 80(sp)
    ld x11, 88(sp)
    ld x12, 96(sp)
    ld x13, 104(sp)
    ld x14, 112(sp)
    ld x15, 120(sp)
    ld x16, 128(sp)
    ld x17, 136(sp)
    ld x28, 224(sp)
    ld x29, 232(sp)
    ld x30, 240(sp)
    ld x31, 248(sp)
    ld x2, 16(sp)
    sret

    // The first drop to the eapp: no register of the runtime's may reach it,
    // so the ones the return below leaves alone are zeroed here.
    .globl rt_first_return
rt_first_return:
    li x3, 0
    li x4, 0
    li x8, 0
    li x9, 0
    li x18, 0
    li x19, 0
    li x20, 0
    li x21, 0
    li x22, 0
    li x23, 0
    li x24, 0
    li x25, 0
    li x26, 0
    li x27, 0

    j       rt_return_to_user

2:  csrrw   sp, sscratch, sp
    call    rt_kernel_trap
3:  j       3b
"#,
    frame = const FRAME,
);

unsafe extern "C" {
    fn rt_first_return() -> !;
    static __kstack_top: u8;
}

const SSTATUS_SPP: usize = 1 << 8;
const SSTATUS_SPIE: usize = 1 << 5;
const SSTATUS_SUM: usize = 1 << 18;
const SSTATUS_FS_DIRTY: usize = 3 << 13;
const SSTATUS_FS_INITIAL: usize = 1 << 13;
const SCOUNTEREN_CY_TM_IR: usize = 0b111;

/// Sets up the enclave and drops to the eapp; never returns.
#[unsafe(no_mangle)]
extern "C" fn rt_main(
    _a0: usize,
    dram_base: usize,
    dram_size: usize,
    _runtime_pa: usize,
    user_pa: usize,
    free_pa: usize,
    utm_pa: usize,
    utm_size: usize,
) -> ! {
    let init =
        mem::with_state(|s| s.init(dram_base, dram_size, user_pa, free_pa, utm_pa, utm_size));
    let (entry, sp) = match init {
        Ok(v) => v,
        Err(code) => exit_enclave(code),
    };
    mem::with_state(|s| slice::configure(&mut s.utm));
    slice::rearm();
    // The end of the kernel stack in .bss (taking its address reads nothing).
    let top = core::ptr::addr_of!(__kstack_top) as usize;
    let frame = (top - FRAME) as *mut TrapFrame;
    // SAFETY: the frame lies at the top of our own kernel stack, below the
    // current sp's caller frames are not needed any more (we never return).
    unsafe {
        frame.write(TrapFrame { x: [0; 32], sepc: entry, _pad: 0 });
        (*frame).x[2] = sp;
    }
    // SAFETY: prepares the sret to U-mode: SPP = U, no SUM, FPU on, zeroed
    // and Initial, U-mode counters readable (scounteren only gates reads), then
    // restores the fresh frame; rt_first_return never returns.
    unsafe {
        core::arch::asm!(
            "csrc sstatus, {clear}",
            "csrs sstatus, {set}",
            // The eapp may read cycle, time and instret (its own counters:
            // scounteren is part of the state the SM swaps at each switch).
            "csrw scounteren, {counters}",
            "fscsr zero",
            clear = in(reg) SSTATUS_SPP | SSTATUS_SUM | SSTATUS_SPIE,
            set = in(reg) SSTATUS_FS_DIRTY,
            counters = in(reg) SCOUNTEREN_CY_TM_IR,
        );
        zero_fp_registers();
        core::arch::asm!(
            // FS = Initial, which the zeroed registers now are: until the
            // eapp's first FP write makes it Dirty, a world switch has no FP
            // state of the enclave's to save.
            "csrc sstatus, {dirty_only}",
            "mv sp, {0}",
            "j {ret}",
            in(reg) frame,
            dirty_only = in(reg) SSTATUS_FS_DIRTY & !SSTATUS_FS_INITIAL,
            ret = sym rt_first_return,
            options(noreturn),
        );
    }
}

/// Zeroes the FP registers so the eapp starts from a known state.
fn zero_fp_registers() {
    // SAFETY: FS is on; fmv.d.x only writes FP registers.
    unsafe {
        core::arch::asm!(
            "fmv.d.x f0, zero",
            "fmv.d.x f1, zero",
            "fmv.d.x f2, zero",
            "fmv.d.x f3, zero",
            "fmv.d.x f4, zero",
            "fmv.d.x f5, zero",
            "fmv.d.x f6, zero",
            "fmv.d.x f7, zero",
            "fmv.d.x f8, zero",
            "fmv.d.x f9, zero",
            "fmv.d.x f10, zero",
            "fmv.d.x f11, zero",
            "fmv.d.x f12, zero",
            "fmv.d.x f13, zero",
            "fmv.d.x f14, zero",
            "fmv.d.x f15, zero",
            "fmv.d.x f16, zero",
            "fmv.d.x f17, zero",
            "fmv.d.x f18, zero",
            "fmv.d.x f19, zero",
            "fmv.d.x f20, zero",
            "fmv.d.x f21, zero",
            "fmv.d.x f22, zero",
            "fmv.d.x f23, zero",
            "fmv.d.x f24, zero",
            "fmv.d.x f25, zero",
            "fmv.d.x f26, zero",
            "fmv.d.x f27, zero",
            "fmv.d.x f28, zero",
            "fmv.d.x f29, zero",
            "fmv.d.x f30, zero",
            "fmv.d.x f31, zero",
        );
    }
}

/// A trap from the eapp: a system call, or a fault that ends the enclave.
/// Every return to the eapp re-arms Eyrie's time slice when the host asked
/// for it (see `slice`).
#[unsafe(no_mangle)]
extern "C" fn rt_user_trap(frame: &mut TrapFrame) {
    let scause: usize;
    // SAFETY: reading scause has no side effect.
    unsafe { core::arch::asm!("csrr {0}, scause", out(reg) scause) };
    if scause == cause::USER_ECALL {
        frame.sepc += 4;
        frame.x[10] = syscall::dispatch(&frame.x);
    } else if stack::grows_for(scause) {
        // The faulting access is retried on the new stack pages.
    } else if (scause as isize) >= 0 {
        exit_enclave(exit_code::fault(scause))
    }
    // Interrupts trap to the SM while an enclave runs; one that reaches us
    // anyway is ignored.
    slice::rearm();
}

/// A trap taken by the runtime itself: a runtime bug; end the enclave.
#[unsafe(no_mangle)]
extern "C" fn rt_kernel_trap() -> ! {
    let scause: usize;
    // SAFETY: reading scause has no side effect.
    unsafe { core::arch::asm!("csrr {0}, scause", out(reg) scause) };
    exit_enclave(exit_code::RUNTIME_FAULT + (scause & 0xff))
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    exit_enclave(exit_code::RUNTIME_FAULT + 0xff)
}

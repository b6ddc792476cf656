//! Bare S-mode runtime: entry of the boot hart and of started harts, stacks,
//! the trap vector and the panic handler.

/// Stack bytes per hart.
const STACK_SIZE: usize = 16 * 1024;
const MAX_HARTS: usize = keystone_abi::layout::MAX_HARTS;

core::arch::global_asm!(
    r#"
    .section .text.entry, "ax"
    .globl _start
_start:
    // A RISC-V Linux Image header (v0.2): the SM computes this kernel's
    // footprint from image_size (file, .bss and stacks) and refuses any EPM
    // inside it (tests patch a larger claim into a copy of the image).
    j       5f
    .balign 8
    .dword  0
    .dword  __payload_image_end - _start
    .dword  0
    .word   2
    .word   0
    .dword  0
    .ascii  "RISCV\0\0\0"
    .ascii  "RSC\x05"
    .word   0
5:  la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:  la      t0, payload_trap_vector
    csrw    stvec, t0
    csrw    sscratch, a0
    la      sp, payload_stack_top
    li      t0, {stack_size}
    mul     t0, t0, a0
    sub     sp, sp, t0
    call    payload_main
3:  j       3b

    .globl payload_secondary_entry
payload_secondary_entry:
    la      t0, payload_trap_vector
    csrw    stvec, t0
    csrw    sscratch, a0
    la      sp, payload_stack_top
    li      t0, {stack_size}
    mul     t0, t0, a0
    sub     sp, sp, t0
    call    payload_secondary_main
4:  j       4b

    .balign 4
    .globl payload_trap_vector
payload_trap_vector:
    addi    sp, sp, -144
    sd      ra, 0(sp)
    sd      t0, 8(sp)
    sd      t1, 16(sp)
    sd      t2, 24(sp)
    sd      a0, 32(sp)
    sd      a1, 40(sp)
    sd      a2, 48(sp)
    sd      a3, 56(sp)
    sd      a4, 64(sp)
    sd      a5, 72(sp)
    sd      a6, 80(sp)
    sd      a7, 88(sp)
    sd      t3, 96(sp)
    sd      t4, 104(sp)
    sd      t5, 112(sp)
    sd      t6, 120(sp)
    call    payload_trap
    ld      ra, 0(sp)
    ld      t0, 8(sp)
    ld      t1, 16(sp)
    ld      t2, 24(sp)
    ld      a0, 32(sp)
    ld      a1, 40(sp)
    ld      a2, 48(sp)
    ld      a3, 56(sp)
    ld      a4, 64(sp)
    ld      a5, 72(sp)
    ld      a6, 80(sp)
    ld      a7, 88(sp)
    ld      t3, 96(sp)
    ld      t4, 104(sp)
    ld      t5, 112(sp)
    ld      t6, 120(sp)
    addi    sp, sp, 144
    sret

    .section .stack, "aw", @nobits
    .balign 4096
    .space {stack_size} * {max_harts}
    .globl payload_stack_top
payload_stack_top:
"#,
    stack_size = const STACK_SIZE,
    max_harts = const MAX_HARTS,
);

unsafe extern "C" {
    fn payload_secondary_entry();
}

/// Physical address where harts started through HSM begin.
pub fn secondary_entry() -> usize {
    payload_secondary_entry as *const () as usize
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    println!("payload: PANIC {info}");
    crate::sbi::shutdown(false)
}

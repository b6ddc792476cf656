//! Keystone's `stack` test in assembly: push and pop through the user stack,
//! then exit 12345 (1 if the stack did not hold the value).
#![no_std]
#![no_main]

core::arch::global_asm!(
    r#"
    .section .text.entry, "ax"
    .globl _start
_start:
    addi    sp, sp, -64
    li      t0, 0x5a5a
    sd      t0, 0(sp)
    sd      t0, 56(sp)
    ld      t1, 0(sp)
    ld      t2, 56(sp)
    addi    sp, sp, 64
    li      a0, 12345
    bne     t0, t1, 1f
    beq     t0, t2, 2f
1:  li      a0, 1
2:  li      a7, 1101
    ecall
"#
);

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

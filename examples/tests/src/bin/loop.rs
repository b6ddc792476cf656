//! Keystone's `loop` test in assembly: ten million iterations (long enough
//! for many timer interrupts and resumes), then exit 54321.
#![no_std]
#![no_main]

core::arch::global_asm!(
    r#"
    .section .text.entry, "ax"
    .globl _start
_start:
    li      t0, 10000000
1:  addi    t0, t0, -1
    bnez    t0, 1b
    li      a0, 54321
    li      a7, 1101
    ecall
"#
);

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

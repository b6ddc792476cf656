//! Keystone's `long-nop` test: 4097 four-byte nops (16 KiB of text over five
//! pages) before the exit, so the loader must map a multi-page text segment.
#![no_std]
#![no_main]

core::arch::global_asm!(
    r#"
    .section .text.entry, "ax"
    .globl _start
_start:
    .option push
    .option norvc
    .rept 4097
    nop
    .endr
    .option pop
    li      a0, 12345
    li      a7, 1101
    ecall
"#
);

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

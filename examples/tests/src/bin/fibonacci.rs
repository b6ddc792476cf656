//! Keystone's `fibonacci` test: naive recursive fib(35) = 14930352 (with
//! Keystone's fib(0) = fib(1) = 1), a long run through many timer interrupts.
#![no_std]
#![no_main]

keystone_enclave::entry!(main);

fn fib(n: u64) -> u64 {
    if n <= 1 {
        1
    } else {
        fib(core::hint::black_box(n - 1)) + fib(core::hint::black_box(n - 2))
    }
}

fn main() -> usize {
    fib(core::hint::black_box(35)) as usize
}

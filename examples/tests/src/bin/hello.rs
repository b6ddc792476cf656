//! Prints through the runtime's proxied write(2) and exits 0.
#![no_std]
#![no_main]

keystone_enclave::entry!(main);

fn main() -> usize {
    keystone_enclave::println!("hello, world!");
    0
}

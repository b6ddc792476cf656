//! Keystone's `malloc` test: allocate, use, free and reallocate on the heap
//! (grown through brk); exit 11411 when every check held.
#![no_std]
#![no_main]

extern crate alloc;
use alloc::boxed::Box;
use alloc::vec::Vec;

keystone_enclave::entry!(main);

fn main() -> usize {
    let mut blocks: Vec<Box<[u64; 64]>> = Vec::new();
    for i in 0..256u64 {
        blocks.push(Box::new([i; 64]));
    }
    if blocks.iter().enumerate().any(|(i, b)| b.iter().any(|&v| v != i as u64)) {
        return 1;
    }
    blocks.truncate(16);
    let big: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
    if big.iter().enumerate().any(|(i, &v)| v != i as u8) {
        return 2;
    }
    drop(big);
    let mut grow = Vec::new();
    for i in 0..10_000u32 {
        grow.push(i);
    }
    if grow.iter().sum::<u32>() != 49_995_000 || blocks[15][63] != 15 {
        return 3;
    }
    11411
}

//! The host is untrusted: an unknown ocall id, a host answer pointing outside
//! the UTM, shared-memory ranges outside the UTM and a request larger than the
//! UTM must each make the call fail (never crash the runtime); exits 0 when
//! all did, else the number of the first check that did not.
#![no_std]
#![no_main]

use keystone_abi::edge::test_ocall::BAD_REPLY;
use keystone_enclave::{copy_from_shared, ocall};

keystone_enclave::entry!(main);

fn main() -> usize {
    let mut ret = [0u8; 16];
    let mut buf = [0u8; 16];
    let huge = alloc_zeroed(1 << 20);
    let checks = [
        ocall(9, b"x", &mut ret).is_err(),
        ocall(BAD_REPLY, b"x", &mut ret).is_err(),
        copy_from_shared(&mut buf, u64::MAX - 4).is_err(),
        copy_from_shared(&mut buf, 0x1_0000 - 8).is_err(),
        ocall(1, &huge, &mut ret).is_err(),
        ocall(9, b"x", &mut []).is_err(),
    ];
    match checks.iter().position(|ok| !ok) {
        Some(i) => i + 1,
        None => 0,
    }
}

fn alloc_zeroed(n: usize) -> alloc::vec::Vec<u8> {
    alloc::vec![0u8; n]
}

extern crate alloc;

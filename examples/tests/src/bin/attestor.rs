//! The attestor's enclave: asks its host for a nonce (ocall GET_NONCE),
//! attests to it, and hands the report back (ocall COPY_REPORT); exits 0.
#![no_std]
#![no_main]

use keystone_abi::edge::test_ocall::{COPY_REPORT, GET_NONCE};
use keystone_enclave::{attest, ocall};

keystone_enclave::entry!(main);

fn main() -> usize {
    let mut nonce = [0u8; 32];
    if ocall(GET_NONCE, &[], &mut nonce).is_err() {
        return 1;
    }
    let report = match attest(&nonce) {
        Ok(r) => r,
        Err(e) => return e.0,
    };
    match ocall(COPY_REPORT, &report[..], &mut []) {
        Ok(()) => 0,
        Err(_) => 2,
    }
}

//! Keystone's `attestation` test: attest("nonce") and hand the report to the
//! host with ocall 3 (COPY_REPORT), which verifies it; exits 0.
#![no_std]
#![no_main]

use keystone_abi::edge::test_ocall::COPY_REPORT;
use keystone_enclave::{attest, ocall};

keystone_enclave::entry!(main);

fn main() -> usize {
    let report = match attest(b"nonce") {
        Ok(r) => r,
        Err(e) => return e.0,
    };
    match ocall(COPY_REPORT, &report[..], &mut []) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

//! Keystone's `data-sealing` test: derive the sealing key for "identifier"
//! and report success through ocall 1; exits 0. Checks besides Keystone's:
//! the key is the same on a second request and differs for another identifier.
#![no_std]
#![no_main]

use keystone_abi::edge::test_ocall::PRINT_BUFFER;
use keystone_enclave::{ocall, sealing_key};

keystone_enclave::entry!(main);

fn main() -> usize {
    let (Ok(a), Ok(b), Ok(c)) =
        (sealing_key(b"identifier"), sealing_key(b"identifier"), sealing_key(b"other"))
    else {
        return 1;
    };
    if a != b || a[..128] == c[..128] || a[..128].iter().all(|&x| x == 0) {
        return 2;
    }
    let mut ret = [0u8; 8];
    let _ = ocall(PRINT_BUFFER, b"Sealing key derivation successful!\n\0", &mut ret);
    0
}

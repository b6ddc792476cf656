//! Keystone's `untrusted` test: ocalls with strings and values and
//! copy_from_shared. The host prints "Enclave said: hello world!",
//! "Enclave said: 2nd hello world!", "Enclave said value: 13" and
//! "Enclave said value: 20" (the 'l's in the host's string); exits 13.
#![no_std]
#![no_main]

use keystone_abi::edge::test_ocall::{GET_STRING, PRINT_BUFFER, PRINT_VALUE};
use keystone_enclave::{ocall, ocall_wrapped};

keystone_enclave::entry!(main);

fn print_buffer(s: &[u8]) -> u64 {
    let mut ret = [0u8; 8];
    if ocall(PRINT_BUFFER, s, &mut ret).is_err() {
        return u64::MAX;
    }
    u64::from_le_bytes(ret)
}

fn print_value(v: u64) {
    let _ = ocall(PRINT_VALUE, &v.to_le_bytes(), &mut []);
}

fn main() -> usize {
    let ret = print_buffer(b"hello world!\n\0");
    print_buffer(b"2nd hello world!\n\0");
    print_value(ret);
    let host = match ocall_wrapped(GET_STRING, &[]) {
        Ok(s) => s,
        Err(_) => return 2,
    };
    let ls = host.iter().filter(|&&c| c == b'l').count();
    print_value(ls as u64);
    ret as usize
}

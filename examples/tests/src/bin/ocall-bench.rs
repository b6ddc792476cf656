//! Ours: the cost of an ocall round trip (eapp -> host handler -> eapp).
//! Makes `CALLS` NOP ocalls and returns the `time` CSR ticks they took in
//! all (10 MHz; under QEMU `-icount shift=0` one tick is 100 instructions).
#![no_std]
#![no_main]

use keystone_abi::edge::test_ocall::NOP;
use keystone_enclave::ocall;

keystone_enclave::entry!(main);

/// Ocalls per run.
const CALLS: usize = 1000;

fn rdtime() -> usize {
    let t: usize;
    // SAFETY: reads the time CSR, which the host's scounteren lets U-mode read.
    unsafe { core::arch::asm!("rdtime {0}", out(reg) t) };
    t
}

fn main() -> usize {
    let start = rdtime();
    for _ in 0..CALLS {
        if ocall(NOP, &[], &mut []).is_err() {
            return usize::MAX;
        }
    }
    rdtime() - start
}

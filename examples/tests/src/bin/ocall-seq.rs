//! Ours: ocalls in flight for the Linux soak test (`ks-demo soak`). Sends
//! ocall SEQ with 0, 1, 2, ... (u64 LE); the host answers seq + 1, and this
//! checks every answer, so an ocall the host never served (lost) or served
//! twice (duplicated, answered with a stale value) shows here too. The host
//! ends the run by answering SEQ_STOP; the eapp then returns how many ocalls
//! it made (the host checks it against how many it served).
//!
//! Returns `FAILED | seq` when an answer is wrong (or the ocall failed), or
//! `FAILED | MAX_CALLS` if the host never says stop.
#![no_std]
#![no_main]

use keystone_abi::edge::test_ocall::{SEQ, SEQ_STOP};
use keystone_enclave::ocall;

keystone_enclave::entry!(main);

/// Set in the exit value on a failure (the low bits say at which ocall).
const FAILED: usize = 0xBAD0 << 48;
/// A bound so a host that never stops cannot keep the enclave forever.
const MAX_CALLS: u64 = 1 << 40;

fn main() -> usize {
    let mut seq: u64 = 0;
    while seq < MAX_CALLS {
        let mut reply = [0u8; 8];
        if ocall(SEQ, &seq.to_le_bytes(), &mut reply).is_err() {
            return FAILED | seq as usize;
        }
        match u64::from_le_bytes(reply) {
            SEQ_STOP => return seq as usize + 1,
            r if r == seq + 1 => seq = r,
            _ => return FAILED | seq as usize,
        }
    }
    FAILED | MAX_CALLS as usize
}

//! Keystone's SM extension (EID 0x08424b45): decodes the call and hands it
//! to the enclave module for the caller's world.

use super::Reply;
use crate::arch::entry::TrapFrame;
use crate::enclave::{self, Outcome};
use keystone_abi::sm::err;
use sbi_spec::binary::SbiRet;

pub fn handle(
    hartid: usize,
    world: Option<usize>,
    fid: usize,
    frame: &mut TrapFrame,
    mepc: usize,
) -> Reply {
    let outcome = match world {
        None => enclave::host_call(hartid, fid, frame, mepc),
        Some(eid) => enclave::enclave_call(hartid, eid, fid, frame, mepc),
    };
    match outcome {
        // The one place an SM error becomes Keystone's number in a0.
        Outcome::Return(Ok(value)) => Reply::Ret(SbiRet { error: err::SUCCESS, value }),
        Outcome::Return(Err(e)) => Reply::Ret(SbiRet { error: e.code(), value: 0 }),
        Outcome::Switched(s) => Reply::Switched(s),
    }
}

//! SBI dispatch: decode the extension and function, call one handler per extension.
//!
//! Handlers only decode registers and call the logic; this module alone
//! decides what lands in a0/a1.

mod base;
mod dbcn;
mod hsm;
mod legacy;
mod rfnc;
mod spi;
mod srst;
mod time;

use crate::arch::entry::TrapFrame;
use sbi_spec::binary::SbiRet;

/// What an SBI call leaves in the caller's registers.
pub enum Reply {
    /// SBI v0.2+ calls: a0 = error, a1 = value.
    Ret(SbiRet),
    /// Legacy v0.1 calls: a0 only, a1 untouched.
    Legacy(usize),
}

/// The arguments of one call: a0..a5, function id (a6), extension id (a7).
pub struct Call {
    pub args: [usize; 6],
    pub fid: usize,
    pub eid: usize,
}

/// Handles the S-mode ecall saved in `frame` on hart `hartid`.
pub fn dispatch(hartid: usize, frame: &TrapFrame) -> Reply {
    let call =
        Call { args: core::array::from_fn(|i| frame.a(i)), fid: frame.a(6), eid: frame.a(7) };
    if legacy::owns(call.eid) {
        return Reply::Legacy(legacy::handle(hartid, &call));
    }
    Reply::Ret(match call.eid {
        sbi_spec::base::EID_BASE => base::handle(&call),
        sbi_spec::time::EID_TIME => time::handle(hartid, &call),
        sbi_spec::hsm::EID_HSM => hsm::handle(hartid, &call),
        sbi_spec::srst::EID_SRST => srst::handle(&call),
        sbi_spec::dbcn::EID_DBCN => dbcn::handle(&call),
        sbi_spec::spi::EID_SPI => spi::handle(hartid, &call),
        sbi_spec::rfnc::EID_RFNC => rfnc::handle(hartid, &call),
        _ => SbiRet::not_supported(),
    })
}

/// True when BASE.probe_extension should report `eid` as available.
pub fn implemented(eid: usize) -> bool {
    matches!(
        eid,
        sbi_spec::base::EID_BASE
            | sbi_spec::time::EID_TIME
            | sbi_spec::hsm::EID_HSM
            | sbi_spec::srst::EID_SRST
            | sbi_spec::dbcn::EID_DBCN
            | sbi_spec::spi::EID_SPI
            | sbi_spec::rfnc::EID_RFNC
    ) || legacy::implemented(eid)
}

//! SBI dispatch: decode the extension and function, call one handler per extension.
//!
//! Handlers only decode registers and call the logic; this module alone
//! writes a0/a1 and mepc of the world an SBI call returns to (`reply`,
//! `switched`), including after a world switch.

mod base;
mod dbcn;
mod hsm;
mod keystone;
mod legacy;
mod rfnc;
mod spi;
mod srst;
mod time;

use crate::arch::csr;
use crate::arch::entry::TrapFrame;
use crate::enclave::Switch;
use sbi_spec::binary::SbiRet;

/// What an SBI call leaves in the caller's registers.
pub enum Reply {
    /// SBI v0.2+ calls: a0 = error, a1 = value.
    Ret(SbiRet),
    /// Legacy v0.1 calls: a0 only, a1 untouched.
    Legacy(usize),
    /// The call moved the hart to the other world (host <-> enclave).
    Switched(Switch),
}

/// Puts the other world of a world switch on the hart: its a0/a1 (when the
/// switch answers its pending call) and the pc it resumes at; returns its frame.
pub fn switched(s: Switch) -> *mut TrapFrame {
    // SAFETY: the switch hands over the frame of the world it put on this
    // hart, which only this hart uses while that world runs.
    let regs = unsafe { &mut *s.frame };
    if let Some((a0, a1)) = s.ret {
        regs.set_a(0, a0);
        regs.set_a(1, a1);
    }
    // SAFETY: the world resumes where the switch says (after its ecall, or
    // where it was interrupted).
    unsafe { csr::mepc::write(s.mepc) };
    s.frame
}

/// One call's registers, read where they are: a0..a5, function id (a6),
/// extension id (a7) of the caller's frame.
pub struct Call<'a>(&'a TrapFrame);

impl Call<'_> {
    /// Argument a`i` (i < 6).
    #[inline(always)]
    pub fn arg(&self, i: usize) -> usize {
        self.0.a(i)
    }
    /// a0..a5, for handlers that take them all.
    pub fn args(&self) -> [usize; 6] {
        core::array::from_fn(|i| self.0.a(i))
    }
    /// The function id (a6).
    #[inline(always)]
    pub fn fid(&self) -> usize {
        self.0.a(6)
    }
    /// The extension id (a7).
    #[inline(always)]
    pub fn eid(&self) -> usize {
        self.0.a(7)
    }
}

/// Handles the S-mode ecall saved in `frame` (`regs`) on hart `hartid`;
/// `enclave` says which enclave made it, if one did. Returns the frame to resume.
pub fn dispatch(
    hartid: usize,
    enclave: Option<usize>,
    frame: *mut TrapFrame,
    regs: &mut TrapFrame,
    mepc: usize,
) -> *mut TrapFrame {
    match answer(hartid, enclave, regs, mepc) {
        Reply::Ret(ret) => {
            regs.set_a(0, ret.error);
            regs.set_a(1, ret.value);
        }
        Reply::Legacy(value) => regs.set_a(0, value),
        Reply::Switched(s) => {
            if let Some((a0, a1)) = s.leaving {
                regs.set_a(0, a0);
                regs.set_a(1, a1);
            }
            return switched(s);
        }
    }
    // SAFETY: resume after the 4-byte ecall instruction. mepc is rewritten
    // from the value read at entry: a guarded MPRV access during the call may
    // have trapped and overwritten the CSR.
    unsafe { csr::mepc::write(mepc + 4) };
    frame
}

fn answer(hartid: usize, enclave: Option<usize>, frame: &mut TrapFrame, mepc: usize) -> Reply {
    // Keystone's calls first, straight from the frame: the world-switch path.
    if frame.a(7) == keystone_abi::sm::KEYSTONE_EID {
        return keystone::handle(hartid, enclave, frame.a(6), frame, mepc);
    }
    let call = Call(frame);
    if enclave.is_some() && !allowed_in_enclave(&call) {
        return if legacy::owns(call.eid()) {
            Reply::Legacy(legacy::NOT_SUPPORTED)
        } else {
            Reply::Ret(SbiRet::not_supported())
        };
    }
    if legacy::owns(call.eid()) {
        return Reply::Legacy(legacy::handle(hartid, &call));
    }
    Reply::Ret(match call.eid() {
        sbi_spec::base::EID_BASE => base::handle(&call),
        sbi_spec::time::EID_TIME => time::handle(hartid, &call),
        sbi_spec::hsm::EID_HSM => hsm::handle(hartid, &call),
        sbi_spec::srst::EID_SRST => srst::handle(hartid, &call),
        sbi_spec::dbcn::EID_DBCN => dbcn::handle(&call),
        sbi_spec::spi::EID_SPI => spi::handle(hartid, &call),
        sbi_spec::rfnc::EID_RFNC => rfnc::handle(hartid, &call),
        _ => SbiRet::not_supported(),
    })
}

/// What an enclave may ask of the firmware besides Keystone's calls: the
/// console, its timer and the BASE queries. Nothing that touches other harts,
/// the host's memory or the machine's power.
fn allowed_in_enclave(call: &Call<'_>) -> bool {
    use sbi_spec::legacy::*;
    matches!(
        call.eid(),
        sbi_spec::base::EID_BASE
            | sbi_spec::time::EID_TIME
            | LEGACY_SET_TIMER
            | LEGACY_CONSOLE_PUTCHAR
            | LEGACY_CONSOLE_GETCHAR
    )
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
            | keystone_abi::sm::KEYSTONE_EID
    ) || legacy::implemented(eid)
}

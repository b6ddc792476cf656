//! SBI dispatch: decode the extension and function, call one handler per extension.
//!
//! Which extensions exist, which an enclave may call and what BASE's probe
//! reports all come from one table, `sm_core::sbi_ext::TABLE`; Keystone's
//! extension is tested for before it, as the world-switch fast path, and
//! the v0.1 range (answered in a0 alone) apart from the other ids.
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

use crate::arch::entry::TrapFrame;
use crate::cpu;
use crate::enclave::Switch;
use sbi_spec::binary::SbiRet;
use sm_core::sbi_ext::{self, Extension, Row};

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
// Trap glue: the frame of the world the switch put on the hart.
#[allow(unsafe_code)]
pub fn switched(s: Switch) -> *mut TrapFrame {
    // SAFETY: the switch hands over the frame of the world it put on this
    // hart, which only this hart uses while that world runs.
    let regs = unsafe { &mut *s.frame };
    if let Some((a0, a1)) = s.ret {
        regs.set_a(0, a0);
        regs.set_a(1, a1);
    }
    // The world resumes where the switch says (after its ecall, or where it
    // was interrupted).
    cpu::resume_at(s.mepc);
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
    // Resume after the 4-byte ecall instruction. mepc is rewritten from the
    // value read at entry: a guarded MPRV access during the call may have
    // trapped and overwritten the CSR.
    cpu::resume_at(mepc + 4);
    frame
}

fn answer(hartid: usize, enclave: Option<usize>, frame: &mut TrapFrame, mepc: usize) -> Reply {
    let eid = frame.a(7);
    // Keystone's calls first, straight from the frame: the world-switch path.
    if eid == keystone_abi::sm::KEYSTONE_EID {
        return keystone::handle(hartid, enclave, frame.a(6), frame, mepc);
    }
    // The enclave check and the v0.1 range each branch before the table's
    // search. With the search right after the Keystone test, the compiler
    // folded that test into one balanced search of every id: 4 comparisons
    // instead of 1 on every world-switch call (edge call 931 -> 952).
    if enclave.is_some() && !sbi_ext::allowed_in_enclave(eid) {
        return refuse(eid);
    }
    let call = Call(frame);
    if sbi_ext::legacy_range(eid) {
        // v0.1 ids answer in a0 alone, refusals included.
        return Reply::Legacy(match sbi_ext::find(eid) {
            Some(Row { ext: Extension::Legacy, .. }) => legacy::handle(hartid, &call),
            _ => legacy::NOT_SUPPORTED,
        });
    }
    let Some(row) = sbi_ext::find(eid) else { return refuse(eid) };
    Reply::Ret(match row.ext {
        // Never reached: both are answered above (the Keystone fast path, the
        // v0.1 range). A second call of `keystone::handle` here kept the
        // compiler from inlining it into the fast path: every world switch
        // cost about 187 instructions more (edge call 931 -> 1,118).
        Extension::Keystone | Extension::Legacy => SbiRet::not_supported(),
        Extension::Base => base::handle(&call),
        Extension::Time => time::handle(hartid, &call),
        Extension::Hsm => hsm::handle(hartid, &call),
        Extension::Srst => srst::handle(hartid, &call),
        Extension::Dbcn => dbcn::handle(&call),
        Extension::Spi => spi::handle(hartid, &call),
        Extension::Rfnc => rfnc::handle(hartid, &call),
    })
}

/// NOT_SUPPORTED, in a0 alone for an id of the legacy range.
fn refuse(eid: usize) -> Reply {
    if sbi_ext::legacy_range(eid) {
        Reply::Legacy(legacy::NOT_SUPPORTED)
    } else {
        Reply::Ret(SbiRet::not_supported())
    }
}

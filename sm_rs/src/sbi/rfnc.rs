//! RFENCE extension: remote instruction and TLB fences, completed before return.

use super::Call;
use crate::ipi;
use sbi_spec::binary::SbiRet;
use sbi_spec::rfnc::*;

// Off the world-switch path: kept out of line so the trap handler stays lean.
#[inline(never)]
pub fn handle(hartid: usize, call: &Call<'_>) -> SbiRet {
    let event = match call.fid() {
        REMOTE_FENCE_I => ipi::EV_FENCE_I,
        REMOTE_SFENCE_VMA | REMOTE_SFENCE_VMA_ASID => ipi::EV_SFENCE_VMA,
        // No guests run under this SM: the hypervisor fences are not offered.
        _ => return SbiRet::not_supported(),
    };
    let [mask, base, start, size, ..] = call.args();
    if event == ipi::EV_SFENCE_VMA && size != usize::MAX && start.checked_add(size).is_none() {
        return SbiRet::invalid_address();
    }
    match ipi::decode_mask(mask, base) {
        Ok(targets) => {
            ipi::send(hartid, targets, event);
            SbiRet::success(0)
        }
        Err(err) => err,
    }
}

//! sPI extension: supervisor software interrupts to other harts.

use super::Call;
use crate::ipi;
use sbi_spec::binary::SbiRet;
use sbi_spec::spi::SEND_IPI;

// Off the world-switch path: kept out of line so the trap handler stays lean.
#[inline(never)]
pub fn handle(hartid: usize, call: &Call<'_>) -> SbiRet {
    if call.fid() != SEND_IPI {
        return SbiRet::not_supported();
    }
    match ipi::decode_mask(call.arg(0), call.arg(1)) {
        Ok(targets) => {
            ipi::send(hartid, targets, ipi::EV_SSIP);
            SbiRet::success(0)
        }
        Err(err) => err,
    }
}

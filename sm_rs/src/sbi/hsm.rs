//! HSM extension: start, stop and query harts.

use super::Call;
use crate::hsm;
use sbi_spec::binary::SbiRet;
use sbi_spec::hsm::{HART_GET_STATUS, HART_START, HART_STOP, HART_SUSPEND};

// Off the world-switch path: kept out of line so the trap handler stays lean.
#[inline(never)]
pub fn handle(hartid: usize, call: &Call<'_>) -> SbiRet {
    let [a0, a1, a2, ..] = call.args();
    match call.fid() {
        HART_START => hsm::hart_start(a0, a1, a2),
        HART_STOP => hsm::hart_stop(hartid),
        HART_GET_STATUS => hsm::hart_get_status(a0),
        HART_SUSPEND => hsm::hart_suspend(hartid, a0, a1, a2),
        _ => SbiRet::not_supported(),
    }
}

//! TIME extension: the supervisor timer.

use super::Call;
use crate::timer;
use sbi_spec::binary::SbiRet;
use sbi_spec::time::SET_TIMER;

pub fn handle(hartid: usize, call: &Call<'_>) -> SbiRet {
    match call.fid() {
        SET_TIMER => {
            timer::set_timer(hartid, call.arg(0) as u64);
            SbiRet::success(0)
        }
        _ => SbiRet::not_supported(),
    }
}

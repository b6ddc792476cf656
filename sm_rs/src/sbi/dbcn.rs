//! DBCN extension: the debug console over physical buffers S-mode passes in.
//!
//! Every buffer is checked to lie in DRAM and outside the SM before one byte
//! of it is read or written.

use super::Call;
use crate::console;
use sbi_spec::binary::SbiRet;
use sbi_spec::dbcn::*;
use sm_core::pmp::Range;
use sm_hal::phys;

/// The checked physical range of a DBCN buffer, or the SBI error to return.
fn buffer(len: usize, lo: usize, hi: usize) -> Result<Option<Range>, SbiRet> {
    if hi != 0 {
        return Err(SbiRet::invalid_param());
    }
    if len == 0 {
        return Ok(None);
    }
    let range = Range::new(lo, len).map_err(|_| SbiRet::invalid_param())?;
    if !crate::memory::supervisor_may_access(&range) {
        return Err(SbiRet::invalid_param());
    }
    Ok(Some(range))
}

// Off the world-switch path: kept out of line so the trap handler stays lean.
#[inline(never)]
pub fn handle(call: &Call<'_>) -> SbiRet {
    let [a0, a1, a2, ..] = call.args();
    match call.fid() {
        CONSOLE_WRITE => match buffer(a0, a1, a2) {
            Err(err) => err,
            Ok(None) => SbiRet::success(0),
            Ok(Some(range)) => {
                // `range` lies in DRAM outside the SM (checked above), so
                // these are plain memory reads that cannot fault.
                let buf = crate::memory::phys(range);
                console::write_bytes((0..range.size).map(|i| phys::read_u8(buf, i)));
                SbiRet::success(range.size)
            }
        },
        CONSOLE_READ => match buffer(a0, a1, a2) {
            Err(err) => err,
            Ok(None) => SbiRet::success(0),
            Ok(Some(range)) => {
                let Some(uart) = console::uart() else { return SbiRet::failed() };
                let buf = crate::memory::phys(range);
                let mut count = 0;
                while count < range.size {
                    let Some(byte) = uart.getc() else { break };
                    // As for CONSOLE_WRITE, within the checked range.
                    phys::write_u8(buf, count, byte);
                    count += 1;
                }
                SbiRet::success(count)
            }
        },
        CONSOLE_WRITE_BYTE => {
            console::write_bytes(core::iter::once(a0 as u8));
            SbiRet::success(0)
        }
        _ => SbiRet::not_supported(),
    }
}

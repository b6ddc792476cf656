//! DBCN extension: the debug console over physical buffers S-mode passes in.
//!
//! Every buffer is checked to lie in DRAM and outside the SM before one byte
//! of it is read or written.

use super::Call;
use crate::console;
use sbi_spec::binary::SbiRet;
use sbi_spec::dbcn::*;
use sm_core::pmp::Range;

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
                // SAFETY: `range` lies in DRAM outside the SM (checked above),
                // so these are plain memory reads that cannot fault.
                console::write_bytes(
                    (range.base..range.end()).map(|a| unsafe { (a as *const u8).read_volatile() }),
                );
                SbiRet::success(range.size)
            }
        },
        CONSOLE_READ => match buffer(a0, a1, a2) {
            Err(err) => err,
            Ok(None) => SbiRet::success(0),
            Ok(Some(range)) => {
                let Some(uart) = console::uart() else { return SbiRet::failed() };
                let mut count = 0;
                while count < range.size {
                    let Some(byte) = uart.getc() else { break };
                    // SAFETY: as for CONSOLE_WRITE, within the checked range.
                    unsafe { ((range.base + count) as *mut u8).write_volatile(byte) };
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

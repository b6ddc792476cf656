//! SRST extension: shutdown and reboot, mapped to QEMU's exit status.

use super::Call;
use crate::{quiesce, reset};
use sbi_spec::binary::SbiRet;
use sbi_spec::srst::*;

// Off the world-switch path: kept out of line so the trap handler stays lean.
#[inline(never)]
pub fn handle(hartid: usize, call: &Call<'_>) -> SbiRet {
    if call.fid() != SYSTEM_RESET {
        return SbiRet::not_supported();
    }
    let (Ok(kind), Ok(reason)) = (u32::try_from(call.arg(0)), u32::try_from(call.arg(1))) else {
        return SbiRet::invalid_param();
    };
    let reason_ok = matches!(reason, RESET_REASON_NO_REASON | RESET_REASON_SYSTEM_FAILURE)
        || reason >= 0xE000_0000;
    if !reason_ok {
        return SbiRet::invalid_param();
    }
    let success = reason != RESET_REASON_SYSTEM_FAILURE;
    if !matches!(kind, RESET_TYPE_SHUTDOWN | RESET_TYPE_COLD_REBOOT | RESET_TYPE_WARM_REBOOT) {
        return match kind {
            0xF000_0000..=0xFFFF_FFFF => SbiRet::not_supported(),
            _ => SbiRet::invalid_param(),
        };
    }
    take_down(hartid, kind != RESET_TYPE_SHUTDOWN, success)
}

/// Reboot or power off with every other hart held and every live EPM
/// scrubbed (SRST and the legacy shutdown); returns only when refused.
pub fn take_down(hartid: usize, reboot: bool, success: bool) -> SbiRet {
    // Every other hart in M-mode and out of every enclave before the scrub:
    // a hart still running one could write its secrets back afterwards.
    match quiesce::hold_others(hartid) {
        Ok(held) => println!("SM: reset: {held} other hart(s) held in M-mode"),
        Err(quiesce::Refused::Busy) => return SbiRet::failed(),
        Err(quiesce::Refused::NoAnswer(missing)) => {
            println!("SM: reset refused: hart mask {missing:#x} did not stop in time");
            return SbiRet::failed();
        }
    }
    // Enclave memory never outlives the machine's power or reset.
    let bytes = crate::scrub::scrub_live();
    println!("SM: scrubbed {bytes} bytes of live enclave memory");
    if !reboot {
        println!(
            "SM: shutdown requested ({})",
            if success { "no reason" } else { "system failure" }
        );
        reset::shutdown(success, 1)
    }
    println!("SM: reboot requested");
    reset::reboot()
}

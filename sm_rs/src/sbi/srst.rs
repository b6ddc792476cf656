//! SRST extension: shutdown and reboot, mapped to QEMU's exit status.

use super::Call;
use crate::reset;
use sbi_spec::binary::SbiRet;
use sbi_spec::srst::*;

// Off the world-switch path: kept out of line so the trap handler stays lean.
#[inline(never)]
pub fn handle(call: &Call<'_>) -> SbiRet {
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
    if matches!(kind, RESET_TYPE_SHUTDOWN | RESET_TYPE_COLD_REBOOT | RESET_TYPE_WARM_REBOOT) {
        // Enclave memory never outlives the machine's power or reset.
        let bytes = crate::scrub::scrub_live();
        println!("SM: scrubbed {bytes} bytes of live enclave memory");
    }
    match kind {
        RESET_TYPE_SHUTDOWN => {
            println!(
                "SM: shutdown requested ({})",
                if success { "no reason" } else { "system failure" }
            );
            reset::shutdown(success, 1)
        }
        RESET_TYPE_COLD_REBOOT | RESET_TYPE_WARM_REBOOT => {
            println!("SM: reboot requested");
            reset::reboot()
        }
        0xF000_0000..=0xFFFF_FFFF => SbiRet::not_supported(),
        _ => SbiRet::invalid_param(),
    }
}

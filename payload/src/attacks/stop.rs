//! `stop`: STOP with a reason Keystone does not define.

use super::*;

pub(super) fn stop_reasons() {
    for reason in [2usize, 7, usize::MAX] {
        let Ok(eid) = make(0) else { continue };
        command(0, 18, reason as u64, 0);
        let (ret, _) = run_bounded(eid, 100);
        check!(ret.error == err::UNKNOWN_ERROR, "stop: STOP(reason {reason:#x}) stops the enclave and the host gets UNKNOWN_ERROR";
            "RUN returned ({}, {:#x}){}", ret.error as isize, ret.value,
            if ret.error == 0 { " (the STOP call returned to the enclave, which exited with that value)" } else { "" });
        if reason == 7 {
            let resumed = if ret.error == err::UNKNOWN_ERROR {
                Some(ks(fid::RESUME_ENCLAVE, eid))
            } else {
                None
            };
            let after = utm_get(0, 0x58);
            check!(resumed.is_some_and(|r| r.error == 0) && after == 0x5709,
                "stop: an enclave stopped for an unknown reason resumes after its STOP call";
                "RESUME {:?}, marker after STOP {:#x}", resumed.map(|r| (r.error as isize, r.value)), after);
        }
        destroy(eid);
    }
}

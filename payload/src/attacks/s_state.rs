//! `s-state`: S-mode CSRs outside Keystone's swapped list (senvcfg).

use super::*;

/// senvcfg is an S-mode CSR outside Keystone's swapped set.
pub(super) fn s_state(hw: &Hw) {
    let Some(_) = senvcfg() else {
        skip!("s-state: the host's senvcfg does not reach a fresh enclave"; "no senvcfg");
        skip!("s-state: the enclave's senvcfg does not reach the host after STOP"; "no senvcfg");
        return;
    };
    csr_write(SENVCFG, 1);
    let host = senvcfg().unwrap_or(0);
    if let Ok(eid) = make(0) {
        command(0, 13, 0, 0);
        let run = guarded(hw.me, eid, true, GUARD, MAX_GUARDED);
        let seen = utm_get(0, 0x1f8) as usize;
        check!(run.ret.error == 0 && (host == 0 || seen != host), "s-state: the host's senvcfg does not reach a fresh enclave";
            "host senvcfg {host:#x}, the enclave read {seen:#x}; run {run}");
        destroy(eid);
    }
    csr_write(SENVCFG, 0);
    if let Ok(eid) = make(0) {
        // Command 14 writes the H list too: only where the hart has H.
        if hw.has_h {
            for (i, (c, _, _)) in PLANT.into_iter().enumerate() {
                utm_set(0, 0x100 + 8 * i, csr_read(c).unwrap_or(0) as u64);
            }
        }
        utm_set(0, 0x1f8, 1);
        // Without H, command 14's H accesses trap into the enclave's own
        // handler, which skips them: only senvcfg is written.
        command(0, 14, 0, 0);
        let ret = guarded(hw.me, eid, true, GUARD, MAX_GUARDED).ret;
        let after = senvcfg().unwrap_or(0);
        let held = utm_get(0, 0x2f8) as usize;
        check!(ret.error == err::EDGE_CALL_HOST && (held == 0 || after != held), "s-state: the enclave's senvcfg does not reach the host after STOP";
            "the enclave held {held:#x}, the host read {after:#x} after STOP; RUN ({}, {:#x})", ret.error as isize, ret.value);
        csr_write(SENVCFG, 0);
        if ret.error == err::EDGE_CALL_HOST {
            ks(fid::RESUME_ENCLAVE, eid);
        }
        destroy(eid);
    }
}

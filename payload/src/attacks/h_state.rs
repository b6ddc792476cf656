//! `h-state`, `h-ctl` and `mpv`: hypervisor-extension CSRs across the world
//! switch, one world steering the other through them, and mstatus.MPV.

use super::*;

/// Finding 1: the host's H/VS CSRs must not reach a fresh enclave.
pub(super) fn h_host_to_enclave(hw: &Hw) {
    let Ok(eid) = make(0) else { return };
    command(0, 13, 1, 0);
    h_plant_host();
    let host = h_read_all();
    let run = guarded(hw.me, eid, true, GUARD, MAX_GUARDED);
    h_reset();
    let mut leaked = Text::new();
    for (i, c) in h_list().into_iter().enumerate() {
        let seen = utm_get(0, 0x100 + 8 * i) as usize;
        if host[i] != 0 && seen == host[i] {
            let _ = write!(leaked, "{}={:#x} ", csr_name(c), seen);
        }
    }
    let ok_run = run.ret.error == 0 && run.virt == 0;
    check!(ok_run && leaked.len == 0, "h-state: none of the host's H/VS CSRs reach a fresh enclave";
        "the enclave read the host's {leaked}; run {run}");
    let hs = utm_get(0, 0x100) as usize;
    check!(ok_run && hs & HSTATUS_SPV == 0, "h-state: a fresh enclave starts with hstatus.SPV = 0";
        "the enclave read hstatus {hs:#x} (host planted {:#x}); run {run}", host[0]);
    destroy(eid);
}

/// Finding 1: with the host's hstatus.SPV = 1, the enclave's first sret
/// (taken before any trap, as Eyrie's drop to the eapp) lands in V-mode.
pub(super) fn h_first_sret(hw: &Hw) {
    let Ok(eid) = make(0) else { return };
    command(0, 16, 0, 0);
    h_reset();
    csr_write(VSSCRATCH, HOST_VS_MARK);
    csr_write(HSTATUS, HSTATUS_SPV);
    let run = guarded(hw.me, eid, true, GUARD, MAX_GUARDED);
    h_reset();
    let seen = utm_get(0, 0x68);
    check!(run.ret.error == 0 && run.ret.value == 0x600d && seen == 0x5c5c && run.virt == 0,
        "h-state: the host's hstatus.SPV = 1 does not send the enclave's first sret into V-mode";
        "after its sret the enclave read sscratch {seen:#x} (own 0x5c5c; {:#x} = the host's vsscratch: VS-mode); run {run}", HOST_VS_MARK);
    destroy(eid);
}

core::arch::global_asm!(
    r#"
    .section .rodata.attack_shellcode, "a"
    .balign 4
    .globl attack_shellcode_start
attack_shellcode_start:
    .option push
    .option norvc
    li      t0, 0x5ee1c0de
    sd      t0, 0x7f0(s0)
    li      t1, {secret}
    add     t1, s1, t1
    ld      t2, 0(t1)
    sd      t2, 0x7f8(s0)
1:  j       1b
    .option pop
    .globl attack_shellcode_end
attack_shellcode_end:
"#,
    secret = const SECRET_OFF,
);

unsafe extern "C" {
    static attack_shellcode_start: u8;
    static attack_shellcode_end: u8;
}

pub(super) const SHELL_MARK: u64 = 0x5ee1_c0de;

/// Host code for the hijack: runs with the enclave's registers (s0 = UTM,
/// s1 = EPM base), copies the EPM secret into the UTM, spins.
pub(super) fn shellcode() -> &'static [u8] {
    let start = core::ptr::addr_of!(attack_shellcode_start);
    let end = core::ptr::addr_of!(attack_shellcode_end) as usize;
    // SAFETY: both symbols delimit the block above, in .rodata.
    unsafe { core::slice::from_raw_parts(start, end - start as usize) }
}

/// Finding 1, as control: SPV + hedeleg(breakpoint) + vstvec planted by the
/// host send the enclave's ebreak to host code in the UTM, which then runs
/// with the enclave's PMP view and reads its EPM.
pub(super) fn h_hijack(hw: &Hw) {
    let Ok(eid) = make(0) else { return };
    command(0, 16, 0, 0);
    let utm_pa = utm(0) as usize;
    let code = shellcode();
    // SAFETY: the UTM is host memory; the enclave may execute it.
    unsafe {
        core::ptr::copy_nonoverlapping(code.as_ptr(), (utm_pa + 0x800) as *mut u8, code.len())
    };
    h_reset();
    csr_write(VSSCRATCH, HOST_VS_MARK);
    csr_write(HEDELEG, 1 << 3);
    csr_write(VSTVEC, utm_pa + 0x800);
    csr_write(HSTATUS, HSTATUS_SPV);
    let run = guarded(hw.me, eid, true, GUARD, MAX_GUARDED);
    h_reset();
    let marker = utm_get(0, 0x7f0);
    let word = utm_get(0, 0x7f8);
    let secret = secret_word(args(0).epm_paddr as usize, 0);
    check!(marker != SHELL_MARK && run.ret.error == 0 && run.ret.value == 0x600d,
        "h-ctl: host-planted hstatus.SPV, hedeleg and vstvec cannot run host code inside the enclave";
        "host code ran in the enclave's world (marker {marker:#x}) and read its EPM secret word {word:#x}{}; run {run}",
        if word == secret { " (= the secret)" } else { "" });
    destroy(eid);
}

/// One STOP/RESUME of an enclave that uses H (command 14: it writes PLANT's
/// enclave column into its H/VS CSRs and reads them back around an edge-call
/// STOP), with `host` setting the host's own H state before RUN and, as a
/// kernel would, again before RESUME.
pub(super) struct HRound {
    /// The host's H/VS CSRs just before RUN.
    host: [usize; N_H],
    /// RUN, to the enclave's STOP.
    run: Run,
    /// The host's H/VS CSRs right after that STOP.
    after: [usize; N_H],
    /// RESUME, to the enclave's exit.
    run2: Run,
}

pub(super) fn h_round(hw: &Hw, eid: usize, host: impl Fn()) -> HRound {
    for (i, (_, _, enclave)) in PLANT.into_iter().enumerate() {
        utm_set(0, 0x100 + 8 * i, enclave as u64);
    }
    utm_set(0, 0x1f8, 0);
    command(0, 14, 0, 0);
    host();
    let before = h_read_all();
    let run = guarded(hw.me, eid, true, GUARD, MAX_GUARDED);
    let after = h_read_all();
    host();
    let run2 = guarded(hw.me, eid, false, GUARD, MAX_GUARDED);
    h_reset();
    HRound { host: before, run, after, run2 }
}

/// Finding 1 both ways, with the enclave as author: its H/VS CSRs must not
/// reach the host at STOP, the host must get its own back, and at RESUME the
/// enclave must not see the host's.
pub(super) fn h_swap(hw: &Hw) {
    let Ok(eid) = make(0) else { return };
    let HRound { host, run, after, run2 } = h_round(hw, eid, h_plant_host);
    let (mut e2h, mut lost, mut h2e, mut kept) = (Text::new(), Text::new(), Text::new(), 0);
    for (i, c) in h_list().into_iter().enumerate() {
        let held = utm_get(0, 0x200 + 8 * i) as usize;
        let at_resume = utm_get(0, 0x300 + 8 * i) as usize;
        let name = csr_name(c);
        if held != host[i] && after[i] == held {
            let _ = write!(e2h, "{name}={held:#x} ");
        }
        if after[i] != host[i] {
            let _ = write!(lost, "{name} {:#x}->{:#x} ", host[i], after[i]);
        }
        if held != host[i] && at_resume == host[i] {
            let _ = write!(h2e, "{name}={at_resume:#x} ");
        }
        kept += (at_resume == held) as usize;
    }
    let stopped = run.ret.error == err::EDGE_CALL_HOST && run.virt == 0;
    let exited = run2.ret.error == 0 && run2.virt == 0;
    check!(stopped && e2h.len == 0, "h-state: the enclave's H/VS CSRs do not reach the host after STOP";
        "the host read the enclave's {e2h}; run {run}");
    check!(stopped && lost.len == 0, "h-state: the host gets its own H/VS CSRs back after STOP";
        "changed: {lost}");
    check!(stopped && exited && h2e.len == 0, "h-state: at RESUME the enclave does not see the host's H/VS CSRs";
        "the enclave read the host's {h2e}; resume {run2}");
    crate::println!(
        "# h-state: {kept} of {N_H} of the enclave's own H/VS CSRs survived its STOP/RESUME"
    );
    destroy(eid);
}

/// The switch skips saving and loading H/VS CSRs when both worlds leave them
/// at their first-run values (checked CSR by CSR at each switch): a host
/// that sets just one of them, whichever, must still have it switched out
/// of the fresh enclave and back to itself.
pub(super) fn h_one_csr(hw: &Hw) {
    let (mut leaked, mut lost, mut bad_runs) = (Text::new(), Text::new(), Text::new());
    for (i, (c, host, _)) in PLANT.into_iter().enumerate() {
        let Ok(eid) = make(0) else { return };
        command(0, 13, 1, 0);
        h_reset();
        vstimecmp_far();
        csr_write(c, host);
        let before = csr_read(c).unwrap_or(usize::MAX);
        let run = guarded(hw.me, eid, true, GUARD, MAX_GUARDED);
        let after = csr_read(c).unwrap_or(usize::MAX);
        h_reset();
        let seen = utm_get(0, 0x100 + 8 * i) as usize;
        let name = csr_name(c);
        if before != 0 && seen == before {
            let _ = write!(leaked, "{name}={seen:#x} ");
        }
        if after != before {
            let _ = write!(lost, "{name} {before:#x}->{after:#x} ");
        }
        if run.ret.error != 0 || run.virt != 0 {
            let _ = write!(bad_runs, "{name}: {run} ");
        }
        destroy(eid);
    }
    check!(bad_runs.len == 0 && leaked.len == 0,
        "h-state: any one H/VS CSR the host alone sets does not reach a fresh enclave";
        "the enclave read the host's {leaked}; runs {bad_runs}");
    check!(bad_runs.len == 0 && lost.len == 0,
        "h-state: the host gets back any one H/VS CSR it alone set";
        "changed: {lost}; runs {bad_runs}");
}

/// The other half of that shortcut: with a host that leaves H alone, an
/// enclave's own H/VS CSRs must still go out at STOP (the host reads its own
/// idle values) and come back at RESUME.
pub(super) fn h_idle_host(hw: &Hw) {
    let Ok(eid) = make(0) else { return };
    let HRound { host: idle, run, after, run2 } = h_round(hw, eid, || {
        h_reset();
        vstimecmp_far();
    });
    let (mut e2h, mut changed) = (Text::new(), Text::new());
    for (i, c) in h_list().into_iter().enumerate() {
        let held = utm_get(0, 0x200 + 8 * i) as usize;
        let at_resume = utm_get(0, 0x300 + 8 * i) as usize;
        let name = csr_name(c);
        if after[i] != idle[i] {
            let _ = write!(e2h, "{name} {:#x}->{:#x} ", idle[i], after[i]);
        }
        // With Sstc, hvip.VSTIP follows vstimecmp, which the switch writes
        // after the H/VS CSRs: it reads what the enclave's vstimecmp says.
        let mask = if c == 0x645 && hw.sstc { !HVIP_VSTIP } else { usize::MAX };
        if at_resume & mask != held & mask {
            let _ = write!(changed, "{name} {held:#x}->{at_resume:#x} ");
        }
    }
    let stopped = run.ret.error == err::EDGE_CALL_HOST && run.virt == 0;
    let exited = run2.ret.error == 0 && run2.virt == 0;
    check!(stopped && e2h.len == 0,
        "h-state: a host that leaves H alone reads its own idle H/VS CSRs after the enclave's STOP";
        "the host's CSRs changed: {e2h}; run {run}");
    check!(stopped && exited && changed.len == 0,
        "h-state: with a host that leaves H alone, the enclave gets its own H/VS CSRs back at RESUME";
        "changed: {changed}; resume {run2}");
    destroy(eid);
}

/// hvip.VSTIP: the VS-level timer interrupt pending bit.
pub(super) const HVIP_VSTIP: usize = 1 << 6;

/// Finding 2: an enclave that entered VS-mode (hstatus.SPV = 1, sret) and is
/// interrupted must hand the host back with V = 0 (mstatus.MPV is part of the
/// switch); otherwise the host runs on the enclave's VS CSRs.
pub(super) fn mpv(hw: &Hw) {
    let Ok(eid) = make(0) else { return };
    let enclave_vs = 0xe5c2_0000_0000_7a5c_u64;
    command(0, 15, enclave_vs, 0);
    h_reset();
    csr_write(VSSCRATCH, HOST_VS_MARK);
    let run = guarded(hw.me, eid, true, GUARD, 0);
    let vs_when_trapped = traps::VIRT_VSSCRATCH.load(SeqCst);
    h_reset();
    let in_vs = utm_get(0, 0x60) == 1;
    crate::println!(
        "# mpv: the enclave {} VS-mode",
        if in_vs { "reached" } else { "did not reach" }
    );
    check!(run.ret.error == err::INTERRUPTED && run.virt == 0 && run.sscratch_seen.is_none(),
        "mpv: an enclave interrupted in VS-mode hands the host back with V=0";
        "the host resumed in V-mode on the enclave's VS CSRs (its sscratch was the enclave's vsscratch {:#x}); run {run}",
        if run.virt > 0 { vs_when_trapped } else { run.sscratch_seen.unwrap_or(0) });
    destroy(eid);
}

//! Multi-hart checks: supervisor IPIs, remote fences (SBI 0.2+ and legacy)
//! and hart suspend, with the other harts running S-mode code.

use crate::harts::{self, wait_for, IPIS};
use crate::sbi::{call, legacy, sip, SECOND, SIP_SSIP, SIP_STIP};
use crate::tap::{check, check_err, check_ret};
use core::sync::atomic::Ordering;
use keystone_abi::layout::{MAX_HARTS, SM_BASE};
use sbi_spec::binary::{RET_ERR_INVALID_ADDRESS, RET_ERR_INVALID_PARAM, RET_ERR_NOT_SUPPORTED};
use sbi_spec::hsm::{self, hart_state};
use sbi_spec::legacy as leg;
use sbi_spec::rfnc::{self, EID_RFNC};
use sbi_spec::spi::{EID_SPI, SEND_IPI};

fn clear_ssip() {
    // SAFETY: withdraws this hart's own pending software interrupt.
    unsafe { core::arch::asm!("csrc sip, {0}", in(reg) SIP_SSIP) };
}

fn status(hart: usize) -> usize {
    call(hsm::EID_HSM, hsm::HART_GET_STATUS, [hart, 0, 0]).value
}

fn others(me: usize, present: &[bool; MAX_HARTS]) -> impl Iterator<Item = usize> + '_ {
    (0..MAX_HARTS).filter(move |&h| present[h] && h != me)
}

fn absent_hart(present: &[bool; MAX_HARTS]) -> usize {
    (0..MAX_HARTS).find(|&h| !present[h]).unwrap_or(MAX_HARTS)
}

fn ipi_count(hart: usize) -> usize {
    IPIS[hart].load(Ordering::SeqCst)
}

/// Checks sPI, RFENCE and the legacy IPI/fence calls.
pub fn ipis_and_fences(me: usize, present: &[bool; MAX_HARTS]) {
    clear_ssip();
    check_ret!(call(EID_SPI, SEND_IPI, [1 << me, 0, 0]), 0, 0, "spi.send_ipi(self)");
    check!(sip() & SIP_SSIP != 0, "spi.send_ipi(self) sets SSIP"; "sip = {:#x}", sip());
    clear_ssip();
    let absent = absent_hart(present);
    check_err!(
        call(EID_SPI, SEND_IPI, [1, absent, 0]),
        RET_ERR_INVALID_PARAM,
        "spi.send_ipi(absent hart {absent}) -> INVALID_PARAM"
    );
    check_err!(
        call(EID_SPI, 1, [0; 3]),
        RET_ERR_NOT_SUPPORTED,
        "spi: unknown function -> NOT_SUPPORTED"
    );

    // Every other hart runs with its software interrupt enabled.
    harts::HOLD.store(true, Ordering::SeqCst);
    for hart in others(me, present) {
        let opaque = harts::TAG_IPI | hart;
        harts::SEEN[hart].store(0, Ordering::SeqCst);
        call(hsm::EID_HSM, hsm::HART_START, [hart, crate::rt::secondary_entry(), opaque]);
        let up = wait_for(SECOND, || harts::SEEN[hart].load(Ordering::SeqCst) == opaque);
        check!(up, "hart {hart} started for the IPI checks"; "it never ran");
    }
    for hart in others(me, present) {
        let before = ipi_count(hart);
        check_ret!(call(EID_SPI, SEND_IPI, [1, hart, 0]), 0, 0, "spi.send_ipi(hart {hart})");
        let got = wait_for(SECOND, || ipi_count(hart) > before);
        check!(got, "hart {hart} takes the supervisor software interrupt"; "count stayed {before}");
    }
    let before: [usize; MAX_HARTS] = core::array::from_fn(ipi_count);
    check_ret!(call(EID_SPI, SEND_IPI, [0, usize::MAX, 0]), 0, 0, "spi.send_ipi(all harts)");
    let all = wait_for(SECOND, || others(me, present).all(|h| ipi_count(h) > before[h]));
    check!(all && sip() & SIP_SSIP != 0, "spi broadcast reaches every hart, self included"; "sip = {:#x}", sip());
    clear_ssip();

    for (name, fid) in [
        ("remote_fence_i", rfnc::REMOTE_FENCE_I),
        ("remote_sfence_vma", rfnc::REMOTE_SFENCE_VMA),
        ("remote_sfence_vma_asid", rfnc::REMOTE_SFENCE_VMA_ASID),
    ] {
        check_ret!(
            call(EID_RFNC, fid, [0, usize::MAX, 0]),
            0,
            0,
            "rfnc.{name}(all harts) completes"
        );
    }
    let ret = crate::sbi::call6(
        EID_RFNC,
        rfnc::REMOTE_SFENCE_VMA,
        [0, usize::MAX, 0x8020_0000, 0x1000, 0, 0],
    );
    check_ret!(ret, 0, 0, "rfnc.remote_sfence_vma(range) completes");
    let ret = crate::sbi::call6(
        EID_RFNC,
        rfnc::REMOTE_SFENCE_VMA,
        [0, usize::MAX, usize::MAX - 10, 0x1000, 0, 0],
    );
    check_err!(
        ret,
        RET_ERR_INVALID_ADDRESS,
        "rfnc.remote_sfence_vma(wrapping range) -> INVALID_ADDRESS"
    );
    check_err!(
        call(EID_RFNC, rfnc::REMOTE_FENCE_I, [1, absent, 0]),
        RET_ERR_INVALID_PARAM,
        "rfnc.remote_fence_i(absent hart) -> INVALID_PARAM"
    );
    check_err!(
        call(EID_RFNC, rfnc::REMOTE_HFENCE_GVMA, [0, usize::MAX, 0]),
        RET_ERR_NOT_SUPPORTED,
        "rfnc.remote_hfence_gvma -> NOT_SUPPORTED"
    );

    // Legacy calls take a pointer to the hart mask.
    for hart in others(me, present) {
        let mask: usize = 1 << hart;
        let before = ipi_count(hart);
        let ret = legacy(leg::LEGACY_SEND_IPI, &mask as *const usize as usize);
        let got = wait_for(SECOND, || ipi_count(hart) > before);
        check!(ret == 0 && got, "legacy.send_ipi(&mask) reaches hart {hart}"; "ret {}, delivered {}", ret as isize, got);
    }
    let all: usize =
        present.iter().enumerate().filter(|(_, p)| **p).fold(0, |m, (h, _)| m | (1 << h));
    let ret = legacy(leg::LEGACY_REMOTE_FENCE_I, &all as *const usize as usize);
    check!(ret == 0, "legacy.remote_fence_i(&mask) completes"; "ret {}", ret as isize);
    let ret = legacy(leg::LEGACY_REMOTE_SFENCE_VMA, &all as *const usize as usize);
    check!(ret == 0, "legacy.remote_sfence_vma(&mask) completes"; "ret {}", ret as isize);
    let ret = legacy(leg::LEGACY_SEND_IPI, SM_BASE + 0x100);
    check!(ret as isize == -5, "legacy.send_ipi(mask pointer into SM memory) -> INVALID_ADDRESS"; "ret {}", ret as isize);
    let ret = legacy(leg::LEGACY_SEND_IPI, (&all as *const usize as usize) + 1);
    check!(ret as isize == -5, "legacy.send_ipi(misaligned mask pointer) -> INVALID_ADDRESS"; "ret {}", ret as isize);
    let ret = legacy(leg::LEGACY_SEND_IPI, 0x10);
    check!(ret as isize == -5, "legacy.send_ipi(mask pointer outside memory) -> INVALID_ADDRESS"; "ret {}", ret as isize);
    clear_ssip();
    let ret = legacy(leg::LEGACY_SEND_IPI, 0);
    check!(ret == 0 && sip() & SIP_SSIP != 0, "legacy.send_ipi(NULL) reaches every hart"; "ret {}", ret as isize);
    let ret = legacy(leg::LEGACY_CLEAR_IPI, 0);
    check!(ret == 0 && sip() & SIP_SSIP == 0, "legacy.clear_ipi clears SSIP"; "sip = {:#x}", sip());

    harts::HOLD.store(false, Ordering::SeqCst);
    for hart in others(me, present) {
        let down = wait_for(SECOND, || status(hart) == hart_state::STOPPED);
        check!(down, "hart {hart} stops after the IPI checks"; "status {}", status(hart));
    }
}

/// Checks hart_suspend, retentive on this hart and non-retentive on another.
pub fn suspend(me: usize, present: &[bool; MAX_HARTS]) {
    use hsm::suspend_type::{NON_RETENTIVE, RETENTIVE};
    check_err!(
        call(hsm::EID_HSM, hsm::HART_SUSPEND, [0x1234, 0, 0]),
        RET_ERR_INVALID_PARAM,
        "hsm.hart_suspend(reserved type) -> INVALID_PARAM"
    );
    check_err!(
        call(hsm::EID_HSM, hsm::HART_SUSPEND, [NON_RETENTIVE as usize, SM_BASE, 0]),
        RET_ERR_INVALID_ADDRESS,
        "hsm.hart_suspend(non-retentive, resume in SM memory) -> INVALID_ADDRESS"
    );

    // Retentive: wake on our own timer, with the interrupt enabled in sie but
    // not globally, so wfi ends without a trap.
    crate::sbi::call(
        sbi_spec::time::EID_TIME,
        0,
        [(crate::sbi::time() + SECOND / 1000) as usize, 0, 0],
    );
    // SAFETY: sie.STIE only lets the pending timer end the suspend.
    unsafe { core::arch::asm!("csrs sie, {0}", in(reg) SIP_STIP) };
    let ret = call(hsm::EID_HSM, hsm::HART_SUSPEND, [RETENTIVE as usize, 0, 0]);
    let woke_by_timer = sip() & SIP_STIP != 0;
    // SAFETY: back to polling mode.
    unsafe { core::arch::asm!("csrc sie, {0}", in(reg) SIP_STIP) };
    crate::sbi::call(sbi_spec::time::EID_TIME, 0, [usize::MAX, 0, 0]);
    check!(ret.error == 0 && woke_by_timer, "hsm.hart_suspend(retentive) returns once the timer is pending"; "error {}, woke by timer {}", ret.error as isize, woke_by_timer);

    let Some(hart) = others(me, present).next() else { return };
    let value = 0x51ee_0000 + hart;
    harts::RESUMED[hart].store(0, Ordering::SeqCst);
    harts::SEEN[hart].store(0, Ordering::SeqCst);
    call(
        hsm::EID_HSM,
        hsm::HART_START,
        [hart, crate::rt::secondary_entry(), harts::TAG_SUSPEND | value],
    );
    let suspended = wait_for(SECOND, || status(hart) == hart_state::SUSPENDED);
    check!(suspended, "hsm.get_status(hart {hart}) = SUSPENDED after a non-retentive suspend"; "status {}", status(hart));
    call(EID_SPI, SEND_IPI, [1, hart, 0]);
    let resumed = wait_for(SECOND, || {
        harts::RESUMED[hart].load(Ordering::SeqCst) == harts::TAG_RESUME | value
    });
    check!(resumed, "an IPI resumes hart {hart} at resume_addr with a1 = opaque"; "RESUMED = {:#x}", harts::RESUMED[hart].load(Ordering::SeqCst));
    let down = wait_for(SECOND, || status(hart) == hart_state::STOPPED);
    check!(down, "hart {hart} stops after resuming"; "status {}", status(hart));
}

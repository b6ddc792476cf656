//! Hart state management: which harts run S-mode code, and starting/stopping them.

use crate::arch::{bits, csr, entry};
use crate::{clint, hart, platform};
use core::sync::atomic::Ordering;
use keystone_abi::layout::MAX_HARTS;
use sbi_spec::binary::SbiRet;
use sbi_spec::hsm::hart_state;
use sm_core::pmp::Range;

use crate::harts::{HARTS, NOT_PRESENT};

/// Records every hart of the device tree: the boot hart started, the rest stopped.
pub fn init(boot_hart: usize) {
    let platform = platform::get();
    for (id, slot) in HARTS.iter().enumerate() {
        if platform.hart_exists(id) {
            let state = if id == boot_hart { hart_state::STARTED } else { hart_state::STOPPED };
            slot.state.store(state, Ordering::Release);
        }
    }
}

/// SBI HSM hart_start: wake a stopped hart at `start_addr` (S-mode, physical).
pub fn hart_start(hartid: usize, start_addr: usize, opaque: usize) -> SbiRet {
    let platform = platform::get();
    if !platform.hart_exists(hartid) {
        return SbiRet::invalid_param();
    }
    let target = Range::new(start_addr, 4);
    if !target.is_ok_and(|r| crate::memory::supervisor_may_access(&r)) || start_addr % 2 != 0 {
        return SbiRet::invalid_address();
    }
    let slot = &HARTS[hartid];
    if slot
        .state
        .compare_exchange(
            hart_state::STOPPED,
            hart_state::START_PENDING,
            Ordering::AcqRel,
            Ordering::Acquire,
        )
        .is_err()
    {
        return SbiRet::already_available();
    }
    slot.start_addr.store(start_addr, Ordering::Relaxed);
    slot.start_arg.store(opaque, Ordering::Relaxed);
    slot.start_requested.store(true, Ordering::Release);
    clint::send_ipi(hartid);
    SbiRet::success(0)
}

/// SBI HSM hart_stop: the calling hart returns to the parked loop for good.
pub fn hart_stop(hartid: usize) -> SbiRet {
    let slot = &HARTS[hartid];
    if slot
        .state
        .compare_exchange(
            hart_state::STARTED,
            hart_state::STOP_PENDING,
            Ordering::AcqRel,
            Ordering::Acquire,
        )
        .is_err()
    {
        return SbiRet::failed();
    }
    entry::park_on_fresh_stack(hartid)
}

/// SBI HSM hart_suspend: wait for an interrupt, then return (retentive) or
/// restart S-mode at `resume_addr` (non-retentive).
pub fn hart_suspend(hartid: usize, kind: usize, resume_addr: usize, opaque: usize) -> SbiRet {
    use sbi_spec::hsm::suspend_type::{NON_RETENTIVE, RETENTIVE};
    let Ok(kind) = u32::try_from(kind) else { return SbiRet::invalid_param() };
    if kind != RETENTIVE && kind != NON_RETENTIVE {
        return SbiRet::invalid_param();
    }
    if kind == NON_RETENTIVE {
        let target = Range::new(resume_addr, 4);
        if !target.is_ok_and(|r| crate::memory::supervisor_may_access(&r)) {
            return SbiRet::invalid_address();
        }
    }
    let slot = &HARTS[hartid];
    slot.state.store(hart_state::SUSPENDED, Ordering::SeqCst);
    // SAFETY: wfi waits until an enabled interrupt (mip & mie) is pending;
    // M-mode keeps MIE clear, so nothing traps here.
    unsafe { core::arch::asm!("wfi") };
    slot.state.store(hart_state::STARTED, Ordering::SeqCst);
    crate::pmp_global::gate(hartid);
    if kind == NON_RETENTIVE {
        crate::world::enter_host(hartid, opaque, resume_addr)
    }
    SbiRet::success(0)
}

/// SBI HSM hart_get_status.
pub fn hart_get_status(hartid: usize) -> SbiRet {
    if hartid >= MAX_HARTS {
        return SbiRet::invalid_param();
    }
    match HARTS[hartid].state.load(Ordering::Acquire) {
        NOT_PRESENT => SbiRet::invalid_param(),
        state => SbiRet::success(state),
    }
}

/// A stopped hart waits here, interrupts masked, until hart_start names it.
#[unsafe(no_mangle)]
extern "C" fn sm_parked_hart_loop(hartid: usize) -> ! {
    let slot = &HARTS[hartid];
    // SAFETY: only the software interrupt may wake a parked hart; with
    // mstatus.MIE clear it wakes `wfi` without trapping.
    unsafe {
        csr::mie::write(1 << bits::IRQ_M_SOFT);
        csr::mstatus::clear(1 << 3);
    }
    let _ = slot.state.compare_exchange(
        hart_state::STOP_PENDING,
        hart_state::STOPPED,
        Ordering::AcqRel,
        Ordering::Acquire,
    );
    loop {
        if slot.start_requested.swap(false, Ordering::Acquire) {
            break;
        }
        // SAFETY: wfi only waits for the software interrupt.
        unsafe { core::arch::asm!("wfi") };
        crate::ipi::process(hartid);
    }
    clint::clear_ipi(hartid);
    let addr = slot.start_addr.load(Ordering::Relaxed);
    let arg = slot.start_arg.load(Ordering::Relaxed);
    hart::prepare_for_supervisor(hartid);
    slot.state.store(hart_state::STARTED, Ordering::SeqCst);
    crate::pmp_global::gate(hartid);
    crate::world::enter_host(hartid, arg, addr)
}

//! Hart state management: which harts run S-mode code, and starting/stopping them.

use crate::arch::entry;
use crate::cpu;
use crate::harts::HARTS;
use crate::{clint, hart, platform};
use keystone_abi::layout::MAX_HARTS;
use sbi_spec::binary::SbiRet;
use sm_core::hsm::{self, ArgError, Suspend};

/// Records every hart of the device tree: the boot hart started, the rest stopped.
pub fn init(boot_hart: usize) {
    let platform = platform::get();
    for (id, cell) in HARTS.iter().enumerate() {
        if platform.hart_exists(id) {
            cell.present(id == boot_hart);
        }
    }
}

// sm-core's suspend types are SBI's.
const _: () = assert!(
    hsm::SUSPEND_RETENTIVE == sbi_spec::hsm::suspend_type::RETENTIVE as usize
        && hsm::SUSPEND_NON_RETENTIVE == sbi_spec::hsm::suspend_type::NON_RETENTIVE as usize
);

/// The SBI error for arguments `sm_core::hsm` refused.
fn refused(e: ArgError) -> SbiRet {
    match e {
        ArgError::InvalidParam => SbiRet::invalid_param(),
        ArgError::InvalidAddress => SbiRet::invalid_address(),
    }
}

/// SBI HSM hart_start: wake a stopped hart at `start_addr` (S-mode, physical).
pub fn hart_start(hartid: usize, start_addr: usize, opaque: usize) -> SbiRet {
    let exists = platform::get().hart_exists(hartid);
    if let Err(e) = hsm::check_start(exists, start_addr, crate::memory::supervisor_may_access) {
        return refused(e);
    }
    if !HARTS[hartid].remote().request_start(start_addr, opaque) {
        return SbiRet::already_available();
    }
    clint::send_ipi(hartid);
    SbiRet::success(0)
}

/// SBI HSM hart_stop: the calling hart returns to the parked loop for good.
pub fn hart_stop(hartid: usize) -> SbiRet {
    if !HARTS[hartid].local().begin_stop() {
        return SbiRet::failed();
    }
    entry::park_on_fresh_stack(hartid)
}

/// SBI HSM hart_suspend: wait for an interrupt, then return (retentive) or
/// restart S-mode at `resume_addr` (non-retentive).
pub fn hart_suspend(hartid: usize, kind: usize, resume_addr: usize, opaque: usize) -> SbiRet {
    let kind = match hsm::check_suspend(kind, resume_addr, crate::memory::supervisor_may_access) {
        Ok(kind) => kind,
        Err(e) => return refused(e),
    };
    let me = HARTS[hartid].local();
    me.suspend();
    // Waits until an enabled interrupt (mip & mie) is pending; M-mode keeps
    // MIE clear, so nothing traps here.
    cpu::wait_for_interrupt();
    me.resume();
    crate::pmp_global::gate(hartid);
    if let Suspend::NonRetentive(resume_addr) = kind {
        crate::world::enter_host(hartid, opaque, resume_addr)
    }
    SbiRet::success(0)
}

/// SBI HSM hart_get_status.
pub fn hart_get_status(hartid: usize) -> SbiRet {
    if hartid >= MAX_HARTS {
        return SbiRet::invalid_param();
    }
    match HARTS[hartid].remote().status() {
        None => SbiRet::invalid_param(),
        Some(state) => SbiRet::success(state.sbi()),
    }
}

/// A stopped hart waits here, interrupts masked, until hart_start names it.
// Trap/entry glue: `entry::park_on_fresh_stack` jumps to this symbol.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
extern "C" fn sm_parked_hart_loop(hartid: usize) -> ! {
    let me = HARTS[hartid].local();
    // Only the software interrupt may wake a parked hart; with mstatus.MIE
    // clear it wakes `wfi` without trapping.
    cpu::park_interrupts();
    me.parked();
    let (addr, arg) = loop {
        if let Some(start) = me.take_start() {
            break start;
        }
        // Only the software interrupt is enabled: wait for it.
        cpu::wait_for_interrupt();
        crate::ipi::process(hartid);
    };
    clint::clear_ipi(hartid);
    hart::prepare_for_supervisor(hartid);
    me.started();
    crate::pmp_global::gate(hartid);
    crate::world::enter_host(hartid, arg, addr)
}

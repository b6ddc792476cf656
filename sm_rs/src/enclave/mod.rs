//! Enclaves: the slot table, their life cycle (Keystone's SM API) and the
//! world switches between the host OS and an enclave on one hart.
//!
//! Lock discipline: one table lock, held only for bookkeeping and for the
//! world switch itself, never while waiting for other harts (PMP changes on
//! every hart happen with the lock released, the slot marked ALLOCATED or
//! DESTROYING meanwhile). A hart spinning for the lock keeps serving IPIs.

mod attest;
mod context;
mod random;

use crate::arch::entry::TrapFrame;
use crate::arch::{bits, csr, mprv};
use crate::{ipi, platform, pmp_global};
use context::{Context, Features};
use keystone_abi::sm::{err, fid, stop_reason, CreateArgs, ENCLAVES_MAX, MDSIZE};
use sm_core::create_args::{self, EnclaveLayout};
use sm_core::enclave_state::Life;
use sm_core::error::SmError;
use sm_core::measure::{self, Page};
use sm_core::pmp::Range;
use sm_core::pmp_alloc::RegionId;
use spin::{Mutex, MutexGuard};

/// What a Keystone call leaves for the trap handler to do.
pub enum Outcome {
    /// Return to the caller and step past its ecall: Ok(value) is (SUCCESS,
    /// value), an error its Keystone code (`SmError::code`, in `sbi::keystone`).
    Return(Result<usize, SmError>),
    /// The hart now runs the other world; frame and mepc are already set.
    Switched,
}

struct Slot {
    /// State and exited flag; every transition goes through `Life`.
    life: Life,
    layout: EnclaveLayout,
    regions: Option<(RegionId, RegionId)>,
    hash: [u8; MDSIZE],
    ctx: Context,
    host: Context,
    /// The enclave's own set_timer request, carried between its runs.
    timer_request: u64,
}

type Table = [Option<Slot>; ENCLAVES_MAX];

static TABLE: Mutex<Table> = Mutex::new([const { None }; ENCLAVES_MAX]);

/// The enclave hart `hartid` is running, if any.
pub use crate::world::current;

/// Takes the table lock, serving this hart's IPIs while another hart holds it.
fn lock(hartid: usize) -> MutexGuard<'static, Table> {
    loop {
        if let Some(guard) = TABLE.try_lock() {
            return guard;
        }
        ipi::poll(hartid);
        core::hint::spin_loop();
    }
}

fn features() -> Features {
    let p = platform::get();
    Features { sstc: p.sstc, h: p.h }
}

// ---------------------------------------------------------------- host calls

/// Keystone calls from the host OS (S-mode outside any enclave).
pub fn host_call(hartid: usize, fid: usize, frame: &mut TrapFrame, mepc: usize) -> Outcome {
    let a0 = frame.a(0);
    let fail = |e| Outcome::Return(Err(e));
    match fid {
        f if f <= fid::DEPRECATED_MAX => fail(SmError::Deprecated),
        fid::CREATE_ENCLAVE => {
            let mut result = Err(SmError::Unknown);
            create(hartid, a0, &mut result);
            Outcome::Return(result)
        }
        fid::DESTROY_ENCLAVE => Outcome::Return(destroy(hartid, a0).map(|()| 0)),
        fid::RUN_ENCLAVE => enter(hartid, a0, frame, mepc, true),
        fid::RESUME_ENCLAVE => enter(hartid, a0, frame, mepc, false),
        f if fid::ENCLAVE_RANGE.contains(&f) => fail(SmError::SbiProhibited),
        _ => fail(SmError::NotImplemented),
    }
}

/// Copies `keystone_sbi_create_t` from the caller's virtual address through MPRV.
fn copy_create_args(va: usize) -> Result<CreateArgs, SmError> {
    const UNREADABLE: SmError = SmError::IllegalArgument("create arguments not readable");
    let mut words = [0u64; 8];
    for (i, w) in words.iter_mut().enumerate() {
        let addr = va.checked_add(i * 8).ok_or(UNREADABLE)?;
        *w = mprv::load_u64(addr).map_err(|_| UNREADABLE)?;
    }
    let [epm_paddr, epm_size, utm_paddr, utm_size, runtime_paddr, user_paddr, free_paddr, free_requested] =
        words;
    Ok(CreateArgs {
        epm_paddr,
        epm_size,
        utm_paddr,
        utm_size,
        runtime_paddr,
        user_paddr,
        free_paddr,
        free_requested,
    })
}

// Kept out of line so debuggers can stop in it (`keystone-py gdb --break sm:create`).
// The result goes through `out` so that at entry a0 = hartid and a1 = the
// host's argument pointer, as debuggers expect (a returned Result this large
// would take a0 for its hidden return slot).
#[inline(never)]
fn create(hartid: usize, va: usize, out: &mut Result<usize, SmError>) {
    *out = create_enclave(hartid, va);
}

fn create_enclave(hartid: usize, va: usize) -> Result<usize, SmError> {
    let args = copy_create_args(va)?;
    let p = platform::get();
    let mut dram = [Range { base: 0, size: 0 }; 4];
    let mut banks = 0;
    for bank in p.dram.iter().flatten() {
        dram[banks] = *bank;
        banks += 1;
    }
    let layout = create_args::validate(&args, &dram[..banks], platform::sm_region())?;

    let eid = {
        let mut table = lock(hartid);
        let eid = table.iter().position(Option::is_none).ok_or(SmError::NoFreeResource)?;
        table[eid] = Some(Slot {
            life: Life::allocated(),
            layout,
            regions: None,
            hash: [0; MDSIZE],
            ctx: Context::ZERO,
            host: Context::ZERO,
            timer_request: crate::timer::NEVER,
        });
        eid
    };
    let regions = match pmp_global::take_enclave_regions(hartid, layout.epm, layout.utm) {
        Ok(r) if crate::scrub::register(layout.epm) => r,
        Ok((epm, utm)) => {
            pmp_global::release_enclave_regions(hartid, epm, utm);
            lock(hartid)[eid] = None;
            return Err(SmError::NoFreeResource);
        }
        Err(e) => {
            lock(hartid)[eid] = None;
            return Err(e.into());
        }
    };
    // SAFETY: the UTM lies in DRAM outside the SM and every enclave (checked),
    // and M-mode writes are not subject to PMP.
    unsafe { core::ptr::write_bytes(layout.utm.base as *mut u8, 0, layout.utm.size) };
    // SAFETY: measured pages lie inside the EPM (validated), now closed to S/U.
    let hash = measure::measure(&layout, |pa| unsafe { &*(pa as *const Page) });

    let mut table = lock(hartid);
    let slot = table[eid].as_mut().expect("slot reserved above");
    slot.regions = Some(regions);
    slot.hash = hash;
    slot.life.created();
    Ok(eid)
}

fn destroy(hartid: usize, eid: usize) -> Result<(), SmError> {
    let (layout, regions) = {
        let mut table = lock(hartid);
        let slot = table.get_mut(eid).and_then(Option::as_mut).ok_or(SmError::InvalidId)?;
        slot.life.destroy()?;
        (slot.layout, slot.regions.take())
    };
    // SAFETY: the EPM is this enclave's and closed to S/U; the scrub leaves
    // nothing of the enclave behind before the host gets the pages back.
    unsafe { core::ptr::write_bytes(layout.epm.base as *mut u8, 0, layout.epm.size) };
    crate::scrub::unregister(layout.epm);
    if let Some((epm, utm)) = regions {
        pmp_global::release_enclave_regions(hartid, epm, utm);
    }
    lock(hartid)[eid] = None;
    Ok(())
}

/// The registers and CSRs an enclave starts with (KEYSTONE_ABI.md §4).
fn first_context(layout: &EnclaveLayout, host: &Context) -> Context {
    let mut ctx = Context::ZERO;
    let p = layout.runtime_params();
    ctx.mepc = layout.epm.base;
    // The loader starts in S-mode.
    ctx.mstatus = crate::arch::bits::MSTATUS_MPP_S;
    ctx.scounteren = host.scounteren;
    let args = [
        0,
        p.dram_base,
        p.dram_size,
        p.runtime_base,
        p.user_base,
        p.free_base,
        p.untrusted_base,
        p.untrusted_size,
    ];
    for (i, v) in args.into_iter().enumerate() {
        ctx.regs[10 + i] = v as usize;
    }
    ctx
}

/// RUN (first) or RESUME: saves the host and enters the enclave on this hart.
fn enter(hartid: usize, eid: usize, frame: &mut TrapFrame, mepc: usize, first: bool) -> Outcome {
    // This hart's host PMP image is the latest before it becomes an enclave's.
    pmp_global::gate(hartid);
    let mut table = lock(hartid);
    let Some(slot) = table.get_mut(eid).and_then(Option::as_mut) else {
        return Outcome::Return(Err(SmError::InvalidId));
    };
    let Some((epm, utm)) = slot.regions else {
        return Outcome::Return(Err(SmError::NotRunnable));
    };
    if let Err(e) = slot.life.enter(first) {
        return Outcome::Return(Err(e));
    }
    let f = features();
    slot.host.save(frame, mepc, f);
    if first {
        slot.ctx = first_context(&slot.layout, &slot.host);
    }
    crate::world::set_enclave(hartid, eid);
    pmp_global::apply_enclave(epm, utm);
    slot.ctx.restore(frame, f);
    // SAFETY: while an enclave runs every interrupt traps to the SM (nothing
    // is delegated), and the M-timer guard stops it no later than the host's
    // deadline.
    unsafe {
        csr::mideleg::write(0);
        csr::mie::set(bits::MIE_S_BITS | (1 << bits::IRQ_M_SOFT));
    }
    crate::timer::enter_enclave(hartid, slot.host.stimecmp, slot.timer_request);
    Outcome::Switched
}

/// Saves the enclave (resuming at `resume_pc`) and returns the hart to the
/// host, whose RUN/RESUME ecall returns (a0, a1).
fn leave(
    hartid: usize,
    slot: &mut Slot,
    frame: &mut TrapFrame,
    resume_pc: usize,
    a0: usize,
    a1: usize,
) {
    let f = features();
    slot.ctx.save(frame, resume_pc, f);
    // SAFETY: back to the host's trap routing.
    unsafe { csr::mideleg::write(bits::MIDELEG_DEFAULT) };
    slot.timer_request = crate::timer::leave_enclave(hartid);
    if let Some((epm, _)) = slot.regions {
        pmp_global::leave_enclave(epm);
    }
    crate::world::set_host(hartid);
    slot.host.restore(frame, f);
    frame.set_a(0, a0);
    frame.set_a(1, a1);
    // SAFETY: the host continues after its RUN/RESUME ecall.
    unsafe { csr::mepc::write(slot.host.mepc + 4) };
}

// ------------------------------------------------------------- enclave calls

/// Keystone calls made by the enclave running on this hart.
pub fn enclave_call(
    hartid: usize,
    eid: usize,
    fid: usize,
    frame: &mut TrapFrame,
    mepc: usize,
) -> Outcome {
    let fail = |e| Outcome::Return(Err(e));
    match fid {
        f if f <= fid::DEPRECATED_MAX => fail(SmError::Deprecated),
        f if fid::HOST_RANGE.contains(&f) => fail(SmError::SbiProhibited),
        fid::RANDOM => Outcome::Return(Ok(random::next())),
        fid::STOP_ENCLAVE => {
            // Keystone's answers; any other reason still stops the enclave
            // and the host learns nothing but UNKNOWN_ERROR.
            let code = match frame.a(0) {
                stop_reason::EDGE_CALL_HOST => err::EDGE_CALL_HOST,
                stop_reason::TIMER_INTERRUPT => err::INTERRUPTED,
                _ => err::UNKNOWN_ERROR,
            };
            let mut table = lock(hartid);
            let slot = table[eid].as_mut().expect("a running enclave has a slot");
            if let Err(code) = slot.life.stop() {
                return fail(code);
            }
            // On resume the STOP ecall returns 0 to the enclave.
            frame.set_a(0, err::SUCCESS);
            frame.set_a(1, 0);
            leave(hartid, slot, frame, mepc + 4, code, 0);
            Outcome::Switched
        }
        fid::EXIT_ENCLAVE => {
            let value = frame.a(0);
            let mut table = lock(hartid);
            let slot = table[eid].as_mut().expect("a running enclave has a slot");
            if let Err(code) = slot.life.exit() {
                return fail(code);
            }
            leave(hartid, slot, frame, mepc + 4, err::SUCCESS, value);
            Outcome::Switched
        }
        fid::ATTEST_ENCLAVE => {
            let (hash, _) = enclave_facts(hartid, eid);
            Outcome::Return(attest::attest(&hash, frame.a(0), frame.a(1), frame.a(2)).map(|()| 0))
        }
        fid::GET_SEALING_KEY => {
            let (hash, epm) = enclave_facts(hartid, eid);
            Outcome::Return(
                attest::sealing_key(&hash, epm, frame.a(0), frame.a(1), frame.a(2)).map(|()| 0),
            )
        }
        _ => fail(SmError::NotImplemented),
    }
}

/// The measurement and EPM of the enclave running on this hart.
fn enclave_facts(hartid: usize, eid: usize) -> ([u8; MDSIZE], Range) {
    let table = lock(hartid);
    let slot = table[eid].as_ref().expect("a running enclave has a slot");
    (slot.hash, slot.layout.epm)
}

/// An interrupt arrived while an enclave ran: stop it, exactly where it was,
/// and tell the host INTERRUPTED; the host then takes its own interrupt.
pub fn interrupted(hartid: usize, eid: usize, frame: &mut TrapFrame, mepc: usize) {
    let mut table = lock(hartid);
    let slot = table[eid].as_mut().expect("a running enclave has a slot");
    slot.life.stop().expect("an enclave on a hart is RUNNING");
    leave(hartid, slot, frame, mepc, err::INTERRUPTED, 0);
}

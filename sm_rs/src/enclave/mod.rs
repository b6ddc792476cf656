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

use crate::arch::csr;
use crate::arch::entry::{FrameCell, TrapFrame};
use crate::cpu;
use crate::{ipi, platform, pmp_global};
use context::{Context, Features};
use keystone_abi::sm::{err, fid, stop_reason, CreateArgs, ENCLAVES_MAX, MDSIZE};
use sm_core::create_args::{self, EnclaveLayout};
use sm_core::enclave_state::Life;
use sm_core::error::SmError;
use sm_core::lifecycle;
use sm_core::measure::{self, Page};
use sm_core::pmp::Range;
use sm_core::pmp_alloc::PmpError;
use sm_hal::phys;
use spin::{Mutex, MutexGuard};

/// What a Keystone call leaves for the trap handler to do.
pub enum Outcome {
    /// Return to the caller and step past its ecall: Ok(value) is (SUCCESS,
    /// value), an error its Keystone code (`SmError::code`, in `sbi::keystone`).
    Return(Result<usize, SmError>),
    /// The hart now runs the other world (its CSRs are on the hart).
    Switched(Switch),
}

/// A world switch, for `sbi` to finish: the registers it answers with.
pub struct Switch {
    /// The frame of the world now on the hart.
    pub frame: *mut TrapFrame,
    /// Where that world resumes.
    pub mepc: usize,
    /// Its a0/a1, when the switch answers a call it made (RUN/RESUME).
    pub ret: Option<(usize, usize)>,
    /// The a0/a1 the leaving world's call returns when it resumes (STOP).
    pub leaving: Option<(usize, usize)>,
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY_FRAME: FrameCell = FrameCell::new();
/// Each enclave's GPRs: written at CREATE (its first registers), then by
/// the trap vector of the hart it runs on. Slot `eid`'s frame is touched only
/// by the hart that holds the table lock for a slot that is not RUNNING, or
/// by the hart the RUNNING enclave is on.
static FRAMES: [FrameCell; ENCLAVES_MAX] = [EMPTY_FRAME; ENCLAVES_MAX];

struct Slot {
    /// State and exited flag; every transition goes through `Life`.
    life: Life,
    layout: EnclaveLayout,
    /// The switch's PMP writes, derived at CREATE from the regions
    /// `pmp_global` holds for this eid (their one owner).
    pmp: Option<pmp_global::EnclavePmp>,
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
    Features { sstc: platform::sstc(), h: platform::h() }
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
        fid::RUN_ENCLAVE => enter(hartid, a0, mepc, true),
        fid::RESUME_ENCLAVE => enter(hartid, a0, mepc, false),
        f if fid::ENCLAVE_RANGE.contains(&f) => fail(SmError::SbiProhibited),
        _ => fail(SmError::NotImplemented),
    }
}

/// Copies `keystone_sbi_create_t` from the caller's virtual address through MPRV.
fn copy_create_args(va: usize) -> Result<CreateArgs, SmError> {
    const UNREADABLE: SmError = SmError::IllegalArgument("create arguments not readable");
    let mut words = [0u64; 8];
    let args =
        crate::umem::USlice::<u64>::new(va, words.len(), words.len()).map_err(|_| UNREADABLE)?;
    args.read_into(&mut words).map_err(|_| UNREADABLE)?;
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
    // An EPM where this boot's kernel or device tree lies would have to be
    // kept, or the images clobbered, by the scrub after a reset.
    if crate::scrub::refuses_epm(&layout.epm) {
        return Err(SmError::RegionOverlaps);
    }

    lifecycle::create(&mut Sm { hartid }, &layout)
}

// Off the world-switch path: kept out of line so the trap handler stays lean.
#[inline(never)]
fn destroy(hartid: usize, eid: usize) -> Result<(), SmError> {
    lifecycle::destroy(&mut Sm { hartid }, eid)
}

/// The steps of CREATE and DESTROY on this machine, run on hart `hartid`
/// in the order `sm_core::lifecycle` sets (host-tested there).
struct Sm {
    hartid: usize,
}

impl lifecycle::Steps for Sm {
    fn reserve(&mut self, layout: &EnclaveLayout) -> Result<usize, SmError> {
        let mut table = lock(self.hartid);
        let eid = table.iter().position(Option::is_none).ok_or(SmError::NoFreeResource)?;
        table[eid] = Some(Slot {
            life: Life::allocated(),
            layout: *layout,
            pmp: None,
            hash: [0; MDSIZE],
            ctx: Context::ZERO,
            host: Context::ZERO,
            timer_request: crate::timer::NEVER,
        });
        Ok(eid)
    }

    fn free(&mut self, eid: usize) {
        lock(self.hartid)[eid] = None;
    }

    fn take_regions(&mut self, eid: usize, epm: Range, utm: Range) -> Result<(), PmpError> {
        pmp_global::take_enclave_regions(self.hartid, eid, epm, utm)
    }

    fn release_regions(&mut self, eid: usize) {
        pmp_global::release_enclave_regions(self.hartid, eid);
    }

    fn register_scrub(&mut self, epm: Range) -> bool {
        crate::scrub::register(epm)
    }

    fn unregister_scrub(&mut self, epm: Range) {
        crate::scrub::unregister(epm);
    }

    fn zero_utm(&mut self, utm: Range) {
        // `lifecycle::create` passes the validated UTM, in DRAM outside the
        // SM and every enclave; M-mode writes are not subject to PMP.
        phys::zero(crate::memory::phys(utm));
    }

    fn seal(&mut self, eid: usize, layout: &EnclaveLayout) {
        let hash = measure_in_place(layout);
        let mut table = lock(self.hartid);
        let slot = table[eid].as_mut().expect("slot reserved by CREATE");
        slot.pmp = Some(pmp_global::enclave_pmp(eid));
        slot.hash = hash;
        first_context(&slot.layout, &mut slot.ctx, FRAMES[eid].get());
        slot.life.created();
    }

    // Trap glue: wipes the enclave's frame, the static the vector saves into.
    #[allow(unsafe_code)]
    fn begin_destroy(&mut self, eid: usize) -> Result<EnclaveLayout, SmError> {
        let mut table = lock(self.hartid);
        let slot = table.get_mut(eid).and_then(Option::as_mut).ok_or(SmError::InvalidId)?;
        slot.life.destroy()?;
        slot.pmp = None;
        // Nothing of the enclave's registers stays in SM memory either: its
        // GPRs, CSRs and FP registers are wiped with the slot.
        slot.ctx = Context::ZERO;
        // SAFETY: the table lock is held and the slot is DESTROYING (not
        // RUNNING), so no hart uses this frame.
        unsafe { *FRAMES[eid].get() = TrapFrame::ZERO };
        Ok(slot.layout)
    }

    fn zero_epm(&mut self, epm: Range) {
        // `lifecycle::destroy` passes the EPM of the enclave it is
        // destroying, still closed to S/U; the scrub leaves nothing of the
        // enclave behind before the host gets the pages back.
        phys::zero(crate::memory::phys(epm));
    }
}

/// The measurement of a sealed enclave's pages, hashed where they lie.
// Not trap glue, the one other exception: reading the EPM in place (no
// copy) keeps CREATE's cost per page where it was (a copy costs 1.3%).
#[allow(unsafe_code)]
fn measure_in_place(layout: &EnclaveLayout) -> [u8; MDSIZE] {
    let epm = crate::memory::phys(layout.epm);
    // SAFETY: CREATE has closed the EPM to S/U on every hart (the PMP sync
    // ran before `seal`), and no other M-mode code writes an enclave that is
    // being created: the slot is not runnable yet.
    unsafe {
        phys::with_bytes_unshared(epm, |bytes| {
            measure::measure(layout, |pa| {
                let offset = pa - layout.epm.base;
                bytes[offset..offset + core::mem::size_of::<Page>()]
                    .try_into()
                    .expect("measured pages lie in the EPM (validated)")
            })
        })
    }
}

/// The registers and CSRs an enclave starts with (docs/abi.md §4.1),
/// written at CREATE, so RUN only switches.
// Trap glue: fills the enclave's frame, the static the vector restores from.
#[allow(unsafe_code)]
fn first_context(layout: &EnclaveLayout, ctx: &mut Context, frame: *mut TrapFrame) {
    let p = layout.runtime_params();
    ctx.mepc = layout.epm.base;
    // The loader starts in S-mode, with 64-bit U-mode (the table's mstatus).
    ctx.mstatus = Context::ZERO.mstatus;
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
    // SAFETY: the caller holds the table lock and the slot is not RUNNING
    // (it is being created), so no hart uses this frame.
    let regs = unsafe { &mut *frame };
    *regs = TrapFrame::ZERO;
    for (i, v) in args.into_iter().enumerate() {
        regs.set_a(i, v as usize);
    }
}

/// RUN (first) or RESUME: saves the host and enters the enclave on this hart.
#[inline(always)]
fn enter(hartid: usize, eid: usize, mepc: usize, first: bool) -> Outcome {
    // This hart's host PMP image is the latest before it becomes an enclave's.
    pmp_global::gate(hartid);
    let mut table = lock(hartid);
    let Some(slot) = table.get_mut(eid).and_then(Option::as_mut) else {
        return Outcome::Return(Err(SmError::InvalidId));
    };
    let Some(pmp) = slot.pmp.as_ref() else {
        return Outcome::Return(Err(SmError::NotRunnable));
    };
    if let Err(e) = slot.life.enter(first) {
        return Outcome::Return(Err(e));
    }
    let f = features();
    if first {
        slot.ctx.scounteren = csr::scounteren::read();
    }
    crate::world::set_enclave(hartid, eid);
    pmp.enter();
    Context::switch(&mut slot.host, mepc, &slot.ctx, f);
    // While an enclave runs every interrupt traps to the SM (nothing is
    // delegated), and the M-timer guard stops it no later than the host's
    // deadline.
    cpu::route_interrupts_to_sm();
    crate::timer::enter_enclave(hartid, slot.host.stimecmp, slot.timer_request);
    Outcome::Switched(Switch {
        frame: FRAMES[eid].get(),
        mepc: slot.ctx.mepc,
        ret: None,
        leaving: None,
    })
}

/// Saves the enclave (resuming at `resume_pc`) and gives the hart back to
/// the host, whose RUN/RESUME ecall returns (a0, a1).
#[inline(always)]
fn leave(hartid: usize, slot: &mut Slot, resume_pc: usize, a0: usize, a1: usize) -> Switch {
    let f = features();
    // Back to the host's trap routing.
    cpu::route_interrupts_to_host();
    slot.timer_request = crate::timer::leave_enclave(hartid);
    if let Some(pmp) = slot.pmp.as_ref() {
        pmp.leave();
    }
    crate::world::set_host(hartid);
    Context::switch(&mut slot.ctx, resume_pc, &slot.host, f);
    Switch {
        frame: crate::world::host_frame(hartid),
        mepc: slot.host.mepc + 4,
        ret: Some((a0, a1)),
        leaving: None,
    }
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
            let mut switch = leave(hartid, slot, mepc + 4, code, 0);
            // On resume the STOP ecall returns 0 to the enclave.
            switch.leaving = Some((err::SUCCESS, 0));
            Outcome::Switched(switch)
        }
        fid::EXIT_ENCLAVE => {
            let value = frame.a(0);
            let mut table = lock(hartid);
            let slot = table[eid].as_mut().expect("a running enclave has a slot");
            if let Err(code) = slot.life.exit() {
                return fail(code);
            }
            Outcome::Switched(leave(hartid, slot, mepc + 4, err::SUCCESS, value))
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
// Off the world-switch path: kept out of line so the trap handler stays lean.
#[inline(never)]
fn enclave_facts(hartid: usize, eid: usize) -> ([u8; MDSIZE], Range) {
    let table = lock(hartid);
    let slot = table[eid].as_ref().expect("a running enclave has a slot");
    (slot.hash, slot.layout.epm)
}

/// An interrupt arrived while an enclave ran: stop it, exactly where it was,
/// and tell the host INTERRUPTED; the host then takes its own interrupt.
pub fn interrupted(hartid: usize, eid: usize, mepc: usize) -> Switch {
    let mut table = lock(hartid);
    let slot = table[eid].as_mut().expect("a running enclave has a slot");
    slot.life.stop().expect("an enclave on a hart is RUNNING");
    leave(hartid, slot, mepc, err::INTERRUPTED, 0)
}

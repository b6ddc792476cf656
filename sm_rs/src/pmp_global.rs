//! The machine-wide PMP policy: the one `sm_core::pmp_policy::PmpPolicy`
//! (allocator and every enclave's regions) behind one lock, shared by every
//! hart, and the per-hart register writes that apply it.
//!
//! Outside enclaves every hart runs the same "host" configuration: the SM
//! closed (entry 0), the SM's devices (reset device, CLINT) and every
//! enclave's EPM closed, all other memory open (entry N-1). A hart running
//! an enclave opens that EPM and narrows entry N-1 to the enclave's UTM.
//!
//! Every hart agrees before it runs: each policy change bumps `GEN` under
//! the policy lock; each hart records the generation it applied, and
//! `gate` brings a stale hart up to date before it executes a single S- or
//! U-mode instruction (hart start, resume from suspend, enclave entry). Harts
//! already in S-mode are brought up to date by the PMP-sync IPI, which the
//! changing hart waits for. The protocol is model-checked in
//! `sm_rs/core/tests/pmp_sync_model.rs`.

use crate::arch::pmp as pmp_csr;
use crate::ipi;
use core::sync::atomic::{fence, AtomicUsize, Ordering};
use keystone_abi::layout::MAX_HARTS;
use sm_core::pmp::Range;
use sm_core::pmp_alloc::PmpError;
use sm_core::pmp_policy::PmpPolicy;
use sm_core::pmp_view::PmpView;
use spin::Mutex;

/// The allocator and every enclave's regions: the one record of them, one lock.
static POLICY: Mutex<PmpPolicy> = Mutex::new(PmpPolicy::new());
/// The policy's generation: bumped (under the POLICY lock) by every change.
static GEN: AtomicUsize = AtomicUsize::new(1);
#[allow(clippy::declare_interior_mutable_const)]
const NEVER_APPLIED: AtomicUsize = AtomicUsize::new(0);
/// The generation each hart last programmed into its PMP registers.
static APPLIED: [AtomicUsize; MAX_HARTS] = [NEVER_APPLIED; MAX_HARTS];

/// Defines the SM, reset-device, CLINT and OS regions; boot hart only, before others start.
pub fn init(reset_device: Option<usize>, clint: Range) {
    if let Err(region) = POLICY.lock().init(reset_device, clint) {
        panic!("{region:?} region must fit the PMP registers");
    }
}

/// Programs this hart with the host configuration (called at hart start and
/// whenever another hart changed the policy, and when an enclave stops).
pub fn apply_host() {
    let policy = POLICY.lock();
    let hart = crate::arch::csr::mhartid::read();
    APPLIED[hart].store(GEN.load(Ordering::SeqCst), Ordering::SeqCst);
    // Rebuilds every entry from the policy, the single source of truth; no
    // S/U code runs on this hart meanwhile.
    pmp_csr::program(policy.host_entries().map(|e| (e.index, e.addr, e.cfg)));
}

/// Reserves enclave `eid`'s EPM and UTM; the EPM is closed on every hart
/// before this returns. On an error nothing changed.
pub fn take_enclave_regions(me: usize, eid: usize, epm: Range, utm: Range) -> Result<(), PmpError> {
    {
        let mut policy = POLICY.lock();
        policy.take_enclave(eid, epm, utm)?;
        GEN.fetch_add(1, Ordering::SeqCst);
    }
    sync_all(me);
    Ok(())
}

/// Gives enclave `eid`'s regions back (if it holds any); every hart forgets
/// them before this returns.
pub fn release_enclave_regions(me: usize, eid: usize) {
    {
        let mut policy = POLICY.lock();
        policy.release_enclave(eid);
        GEN.fetch_add(1, Ordering::SeqCst);
    }
    sync_all(me);
}

/// One enclave's PMP writes for the world switch, computed once at CREATE
/// (a region keeps its registers for its whole life), so the switch takes
/// no lock and looks nothing up.
#[derive(Clone, Copy)]
pub struct EnclavePmp {
    /// EPM and UTM open (the UTM in the bottom register, over the host's
    /// all-memory region): all the enclave may touch.
    enter: PmpView,
    /// EPM closed again and the bottom register back to all memory. A
    /// machine-wide change made while the enclave ran is still pending as an
    /// IPI and applied (`apply_host`) right after the switch.
    leave: PmpView,
}

impl EnclavePmp {
    /// Switches this hart's PMP to the enclave's view.
    #[inline(always)]
    pub fn enter(&self) {
        // The views come from the allocator for this enclave's own regions;
        // S/U code on this hart runs the enclave next.
        pmp_csr::switch_view(&self.enter);
    }

    /// Gives this hart back the host's view.
    #[inline(always)]
    pub fn leave(&self) {
        // As in `enter`; the host runs next.
        pmp_csr::switch_view(&self.leave);
    }
}

/// The switch's PMP writes for enclave `eid`, which holds its regions.
pub fn enclave_pmp(eid: usize) -> EnclavePmp {
    let views = POLICY.lock().enclave_views(eid).expect("a created enclave holds its regions");
    EnclavePmp { enter: views.enter, leave: views.leave }
}

/// True when `range` touches any enclave's EPM or UTM.
pub fn overlaps_enclave(range: &Range) -> bool {
    POLICY.lock().overlaps_enclave(range)
}

/// Makes every hart that is or may soon be in S-mode re-apply the host
/// configuration, and waits for each.
fn sync_all(me: usize) {
    fence(Ordering::SeqCst);
    ipi::send(me, usize::MAX, ipi::EV_PMP_SYNC);
}

/// Run by a hart of the host world right before it (re)enters S-mode or an enclave, after it
/// published its HSM state: serve a pending sync, then re-apply if the policy
/// changed since this hart last applied it. Together with `sync_all` reading
/// the HSM states after bumping GEN, no hart can miss a change.
pub fn gate(hart: usize) {
    fence(Ordering::SeqCst);
    ipi::poll_host(hart);
    if sm_core::pmp_sync::needs_apply(
        APPLIED[hart].load(Ordering::SeqCst),
        GEN.load(Ordering::SeqCst),
    ) {
        apply_host();
    }
}

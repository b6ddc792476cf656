//! The machine-wide PMP policy: one allocator shared by every hart, and the
//! per-hart register writes that apply it.
//!
//! Outside enclaves every hart runs the same "host" configuration: the SM
//! closed (entry 0), the SM's devices (reset device, CLINT) and every
//! enclave's EPM closed, all other memory open (entry N-1). A hart running
//! an enclave opens that EPM and narrows entry N-1 to the enclave's UTM.
//!
//! Every hart agrees before it runs: each policy change bumps `GEN` under
//! the allocator lock; each hart records the generation it applied, and
//! `gate` brings a stale hart up to date before it executes a single S- or
//! U-mode instruction (hart start, resume from suspend, enclave entry). Harts
//! already in S-mode are brought up to date by the PMP-sync IPI, which the
//! changing hart waits for. The protocol is model-checked in
//! `sm_rs/core/tests/pmp_sync_model.rs`.

use crate::arch::pmp as pmp_csr;
use crate::ipi;
use core::sync::atomic::{fence, AtomicUsize, Ordering};
use keystone_abi::layout::{MAX_HARTS, SM_BASE, SM_SIZE};
use keystone_abi::sm::ENCLAVES_MAX;
use sm_core::pmp::{self as enc, Range};
use sm_core::pmp_alloc::{Entry, PmpAllocator, PmpError, Priority, RegionId};
use sm_core::pmp_view::PmpView;
use spin::{Mutex, Once};

static ALLOC: Mutex<PmpAllocator> = Mutex::new(PmpAllocator::new());
/// The policy's generation: bumped (under the ALLOC lock) by every change.
static GEN: AtomicUsize = AtomicUsize::new(1);
#[allow(clippy::declare_interior_mutable_const)]
const NEVER_APPLIED: AtomicUsize = AtomicUsize::new(0);
/// The generation each hart last programmed into its PMP registers.
static APPLIED: [AtomicUsize; MAX_HARTS] = [NEVER_APPLIED; MAX_HARTS];
/// The all-memory region the host runs with (bottom register).
static OS_REGION: Once<RegionId> = Once::new();

/// Regions that belong to enclaves: (EPM, UTM) pairs. EPMs are closed in
/// host mode; UTMs only appear in the last register while their enclave runs.
static ENCLAVE_REGIONS: Mutex<[Option<(RegionId, RegionId)>; ENCLAVES_MAX]> =
    Mutex::new([None; ENCLAVES_MAX]);

/// Defines the SM, reset-device, CLINT and OS regions; boot hart only, before others start.
pub fn init(reset_device: Option<usize>, clint: Range) {
    let mut alloc = ALLOC.lock();
    alloc.define(SM_BASE, SM_SIZE, Priority::Top, false).expect("SM region must fit register 0");
    if let Some(base) = reset_device {
        // The power/reset device is the SM's: a store from S-mode would reset
        // the machine behind the SM's back (with enclaves alive). S-mode
        // resets through SBI SRST, which scrubs first.
        alloc
            .define(base, 0x1000, Priority::Any, false)
            .expect("reset device region must fit a PMP register");
    }
    // The CLINT is the SM's too: its mtime is the only clock an enclave has,
    // mtimecmp bounds every enclave run, and msip carries the SM's own IPIs.
    // S-mode keeps time through the time CSR, Sstc and SBI TIME/IPI. Like the
    // reset device, it sits above the bottom register, so it stays closed
    // while an enclave runs (the switch rewrites only EPM and bottom).
    alloc
        .define(clint.base, clint.size, Priority::Any, false)
        .expect("CLINT region must fit PMP registers");
    let os = alloc
        .define(0, usize::MAX, Priority::Bottom, true)
        .expect("OS region must fit the last register");
    OS_REGION.call_once(|| os);
}

fn write(entries: [Option<Entry>; 2]) {
    for e in entries.into_iter().flatten() {
        // SAFETY: the allocator produced this entry for a region it owns;
        // the caller decides the permission.
        unsafe { pmp_csr::set_entry(e.index, e.addr, e.cfg) };
    }
}

/// Programs this hart with the host configuration (called at hart start and
/// whenever another hart changed the policy, and when an enclave stops).
pub fn apply_host() {
    let alloc = ALLOC.lock();
    let enclaves = ENCLAVE_REGIONS.lock();
    let hart = crate::arch::csr::mhartid::read();
    APPLIED[hart].store(GEN.load(Ordering::SeqCst), Ordering::SeqCst);
    // SAFETY: rebuilds every entry from the allocator, the single source of
    // truth; no S/U code runs on this hart meanwhile.
    unsafe { pmp_csr::clear_all() };
    for id in alloc.regions() {
        let view = alloc.region(id).expect("listed region exists");
        let is_utm = enclaves.iter().flatten().any(|&(_, utm)| utm == id);
        if is_utm {
            // UTMs live at the bottom register only while their enclave runs.
            continue;
        }
        let open = view.base == 0 && view.size == usize::MAX;
        let perm = if open { enc::R | enc::W | enc::X } else { 0 };
        write(alloc.entries(id, perm).expect("allocator entries are valid"));
    }
}

/// Reserves an enclave's EPM and UTM; the EPM is closed on every hart before
/// this returns.
pub fn take_enclave_regions(
    me: usize,
    epm: Range,
    utm: Range,
) -> Result<(RegionId, RegionId), PmpError> {
    let (epm_id, utm_id) = {
        let mut alloc = ALLOC.lock();
        let mut enclaves = ENCLAVE_REGIONS.lock();
        if touches_enclave(&alloc, &enclaves, &epm) || touches_enclave(&alloc, &enclaves, &utm) {
            return Err(PmpError::Overlap);
        }
        let Some(slot) = enclaves.iter_mut().find(|s| s.is_none()) else {
            return Err(PmpError::MaxReached);
        };
        let epm_id = alloc.define(epm.base, epm.size, Priority::Any, false)?;
        let utm_id = match alloc.define(utm.base, utm.size, Priority::Bottom, false) {
            Ok(id) => id,
            Err(e) => {
                let _ = alloc.free(epm_id);
                return Err(e);
            }
        };
        *slot = Some((epm_id, utm_id));
        GEN.fetch_add(1, Ordering::SeqCst);
        (epm_id, utm_id)
    };
    sync_all(me);
    Ok((epm_id, utm_id))
}

/// Gives an enclave's regions back; every hart forgets them before this returns.
pub fn release_enclave_regions(me: usize, epm_id: RegionId, utm_id: RegionId) {
    {
        let mut alloc = ALLOC.lock();
        for slot in ENCLAVE_REGIONS.lock().iter_mut() {
            if *slot == Some((epm_id, utm_id)) {
                *slot = None;
            }
        }
        let _ = alloc.free(epm_id);
        let _ = alloc.free(utm_id);
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
        // SAFETY: the views come from the allocator for this enclave's own
        // regions; S/U code on this hart runs the enclave next.
        unsafe { pmp_csr::apply_view(&self.enter) };
    }

    /// Gives this hart back the host's view.
    #[inline(always)]
    pub fn leave(&self) {
        // SAFETY: as in `enter`; the host runs next.
        unsafe { pmp_csr::apply_view(&self.leave) };
    }
}

/// The switch's PMP writes for an enclave whose regions are `epm_id`/`utm_id`.
pub fn enclave_pmp(epm_id: RegionId, utm_id: RegionId) -> EnclavePmp {
    let alloc = ALLOC.lock();
    let os = *OS_REGION.get().expect("PMP policy initialised at boot");
    let rwx = enc::R | enc::W | enc::X;
    let entries = |id, perm| alloc.entries(id, perm).expect("entries of a live region");
    // Both regions' entries, in one list (at most 2 + 2).
    let list = |a: [Option<Entry>; 2], b: [Option<Entry>; 2]| {
        let mut out = [Entry { index: 0, addr: 0, cfg: 0 }; 4];
        let mut n = 0;
        for e in a.into_iter().chain(b).flatten() {
            out[n] = e;
            n += 1;
        }
        (out, n)
    };
    let (h, hn) = list(entries(epm_id, 0), entries(os, rwx));
    let (en, enn) = list(entries(epm_id, rwx), entries(utm_id, rwx));
    let view = |from: &[Entry], to: &[Entry]| {
        PmpView::transition(from, to.iter().copied()).expect("two regions fit a view")
    };
    EnclavePmp { enter: view(&h[..hn], &en[..enn]), leave: view(&en[..enn], &h[..hn]) }
}

/// True when `range` touches any enclave's EPM or UTM.
pub fn overlaps_enclave(range: &Range) -> bool {
    touches_enclave(&ALLOC.lock(), &ENCLAVE_REGIONS.lock(), range)
}

fn touches_enclave(
    alloc: &PmpAllocator,
    enclaves: &[Option<(RegionId, RegionId)>; ENCLAVES_MAX],
    range: &Range,
) -> bool {
    enclaves.iter().flatten().flat_map(|&(epm, utm)| [epm, utm]).any(|id| {
        alloc.region(id).is_some_and(|v| Range { base: v.base, size: v.size }.overlaps(range))
    })
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

//! The machine-wide PMP policy as one value: the allocator and which of its
//! regions belong to which enclave, so the firmware keeps them behind one
//! lock and nothing else records an enclave's regions.
//!
//! Outside enclaves every hart runs the same "host" image: the SM, its
//! devices and every enclave's EPM closed, all other memory open (the
//! bottom register). A hart running an enclave opens that EPM and narrows
//! the bottom register to the enclave's UTM. This module decides those
//! images; `sm_rs/src/pmp_global.rs` writes them and keeps every hart's
//! copy current.

use crate::pmp::{Range, R, W, X};
use crate::pmp_alloc::{Entry, PmpAllocator, PmpError, Priority, RegionId};
use crate::pmp_view::PmpView;
use keystone_abi::layout::{SM_BASE, SM_SIZE};
use keystone_abi::sm::ENCLAVES_MAX;

const RWX: u8 = R | W | X;

/// The regions one enclave holds: its EPM (closed in the host image) and its
/// UTM (in the bottom register only while the enclave runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnclaveRegions {
    pub epm: RegionId,
    pub utm: RegionId,
}

/// Which boot region did not fit, for the firmware's panic message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootRegion {
    Sm,
    ResetDevice,
    Clint,
    Os,
}

/// The switch's two precomputed writes for one enclave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnclaveViews {
    /// Host image -> the enclave's: EPM and UTM open, nothing else below the SM's devices.
    pub enter: PmpView,
    /// The enclave's image -> host image: EPM closed, bottom register back to all memory.
    pub leave: PmpView,
}

/// The allocator and the enclave-to-regions table: every PMP fact of the SM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PmpPolicy {
    alloc: PmpAllocator,
    /// The all-memory region the host runs with (bottom register), once `init` ran.
    os: Option<RegionId>,
    /// Enclave `eid`'s regions at index `eid`, from CREATE until DESTROY.
    enclaves: [Option<EnclaveRegions>; ENCLAVES_MAX],
}

impl Default for PmpPolicy {
    fn default() -> Self {
        Self::new()
    }
}

impl PmpPolicy {
    /// A policy with no regions: a static's initial value, before `init`.
    pub const fn new() -> Self {
        Self { alloc: PmpAllocator::new(), os: None, enclaves: [None; ENCLAVES_MAX] }
    }

    /// Defines the SM, the reset device (if any), the CLINT and the host's
    /// all-memory region, in that order of priority.
    pub fn init(&mut self, reset_device: Option<usize>, clint: Range) -> Result<(), BootRegion> {
        let a = &mut self.alloc;
        a.define(SM_BASE, SM_SIZE, Priority::Top, false).map_err(|_| BootRegion::Sm)?;
        if let Some(base) = reset_device {
            // The power/reset device is the SM's: a store from S-mode would
            // reset the machine behind the SM's back (with enclaves alive).
            a.define(base, 0x1000, Priority::Any, false).map_err(|_| BootRegion::ResetDevice)?;
        }
        // The CLINT is the SM's too: its mtime is an enclave's only clock and
        // mtimecmp bounds every enclave run. Like the reset device it sits
        // above the bottom register, so it stays closed while an enclave runs.
        a.define(clint.base, clint.size, Priority::Any, false).map_err(|_| BootRegion::Clint)?;
        let os = a.define(0, usize::MAX, Priority::Bottom, true).map_err(|_| BootRegion::Os)?;
        self.os = Some(os);
        Ok(())
    }

    /// The allocator, read-only (for GDB helpers and tests).
    pub fn allocator(&self) -> &PmpAllocator {
        &self.alloc
    }

    /// The regions enclave `eid` holds, if it holds any.
    pub fn enclave(&self, eid: usize) -> Option<EnclaveRegions> {
        self.enclaves.get(eid).copied().flatten()
    }

    /// True when `range` touches any enclave's EPM or UTM.
    pub fn overlaps_enclave(&self, range: &Range) -> bool {
        self.enclaves.iter().flatten().flat_map(|r| [r.epm, r.utm]).any(|id| {
            self.alloc
                .region(id)
                .is_some_and(|v| Range { base: v.base, size: v.size }.overlaps(range))
        })
    }

    /// Gives enclave `eid` an EPM and a UTM region; on any error nothing
    /// changed (an EPM defined before the UTM failed is freed again).
    pub fn take_enclave(&mut self, eid: usize, epm: Range, utm: Range) -> Result<(), PmpError> {
        if self.overlaps_enclave(&epm) || self.overlaps_enclave(&utm) {
            return Err(PmpError::Overlap);
        }
        let Some(slot) = self.enclaves.get(eid) else { return Err(PmpError::MaxReached) };
        if slot.is_some() {
            // The enclave table hands out each eid once; a second CREATE on it is a bug upstream.
            return Err(PmpError::Invalid);
        }
        let epm_id = self.alloc.define(epm.base, epm.size, Priority::Any, false)?;
        let utm_id = match self.alloc.define(utm.base, utm.size, Priority::Bottom, false) {
            Ok(id) => id,
            Err(e) => {
                let _ = self.alloc.free(epm_id);
                return Err(e);
            }
        };
        self.enclaves[eid] = Some(EnclaveRegions { epm: epm_id, utm: utm_id });
        Ok(())
    }

    /// Forgets enclave `eid`'s regions; returns what it held (None: nothing).
    pub fn release_enclave(&mut self, eid: usize) -> Option<EnclaveRegions> {
        let regions = self.enclaves.get_mut(eid)?.take()?;
        let _ = self.alloc.free(regions.epm);
        let _ = self.alloc.free(regions.utm);
        Some(regions)
    }

    /// The writes of the host image, to apply after clearing every register:
    /// each region closed except the all-memory one, enclaves' UTMs left out.
    pub fn host_entries(&self) -> impl Iterator<Item = Entry> + '_ {
        self.alloc
            .regions()
            .filter(|&id| !self.enclaves.iter().flatten().any(|r| r.utm == id))
            .flat_map(move |id| {
                let perm = if Some(id) == self.os { RWX } else { 0 };
                self.alloc.entries(id, perm).expect("a defined region has entries")
            })
            .flatten()
    }

    /// Enclave `eid`'s world-switch writes, or None if it holds no regions
    /// (or `init` has not run).
    pub fn enclave_views(&self, eid: usize) -> Option<EnclaveViews> {
        let regions = self.enclave(eid)?;
        let os = self.os?;
        let entries = |id, perm| self.alloc.entries(id, perm).ok();
        let host = list(entries(regions.epm, 0)?, entries(os, RWX)?);
        let inside = list(entries(regions.epm, RWX)?, entries(regions.utm, RWX)?);
        let view =
            |from: &List, to: &List| PmpView::transition(from.slice(), to.slice().iter().copied());
        Some(EnclaveViews { enter: view(&host, &inside)?, leave: view(&inside, &host)? })
    }
}

/// Up to two regions' entries (at most 2 + 2), in order.
struct List {
    entries: [Entry; 4],
    len: usize,
}

impl List {
    fn slice(&self) -> &[Entry] {
        &self.entries[..self.len]
    }
}

fn list(a: [Option<Entry>; 2], b: [Option<Entry>; 2]) -> List {
    let mut out = List { entries: [Entry { index: 0, addr: 0, cfg: 0 }; 4], len: 0 };
    for e in a.into_iter().chain(b).flatten() {
        out.entries[out.len] = e;
        out.len += 1;
    }
    out
}

//! PMP as an allocator: region definitions mapped onto the hart's PMP registers.
//!
//! Pure bookkeeping (docs/abi.md §3): the allocator decides which registers a
//! region occupies and what the hardware writes are, and the firmware's `arch`
//! module performs them. The state is `Copy`, so callers can try a change on a
//! copy and commit it only when every step succeeded.

use crate::pmp::{self, A_NAPOT, A_TOR, L, NAPOT_ALL, R, W, X};
use keystone_abi::sm::err;

/// PMP registers on each QEMU `virt` hart.
pub const N_REG: usize = 16;
/// Region slots the allocator can hold at once.
pub const MAX_REGIONS: usize = 16;
/// Granule of every region except "all memory": one page.
pub const PAGE_SIZE: usize = 4096;

/// The register that `Priority::Bottom` regions share.
const BOTTOM_REG: usize = N_REG - 1;
/// Permission bits `entries` accepts.
const PERM_MASK: u8 = R | W | X | L;

const _: () = assert!(N_REG <= 16 && MAX_REGIONS <= 16);

/// Where a region's registers go; lower registers win when regions overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Lowest free register, or lowest free adjacent pair for TOR.
    Any,
    /// Register 0, the highest-priority entry.
    Top,
    /// Register `N_REG - 1`, shared by every bottom region (NAPOT only).
    Bottom,
}

/// Address-matching mode a region was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One register: naturally aligned power of two (or all memory).
    Napot,
    /// Top of range: two registers, or one at register 0 when the base is 0.
    Tor,
}

/// Why a region cannot be defined, freed or encoded (Keystone's PMP codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PmpError {
    /// Size is zero or the range wraps around the address space.
    RegionSizeInvalid,
    /// Base or size is not a multiple of `PAGE_SIZE`.
    NotPageGranularity,
    /// The encoder refused an address that is not aligned.
    NotAligned,
    /// No free region slot or no free register.
    MaxReached,
    /// Unknown region id, or permission bits outside R/W/X/L.
    Invalid,
    /// The range overlaps a region and neither allows overlap.
    Overlap,
    /// TOR where it cannot work: at the bottom register, or at register 0 with a base.
    ImpossibleTor,
}

impl PmpError {
    /// Keystone's error number, for logs and tests (SBI folds it into PMP_FAILURE).
    pub fn code(self) -> usize {
        match self {
            Self::RegionSizeInvalid => err::PMP_REGION_SIZE_INVALID,
            Self::NotPageGranularity => err::PMP_REGION_NOT_PAGE_GRANULARITY,
            Self::NotAligned => err::PMP_REGION_NOT_ALIGNED,
            Self::MaxReached => err::PMP_REGION_MAX_REACHED,
            Self::Invalid => err::PMP_REGION_INVALID,
            Self::Overlap => err::PMP_REGION_OVERLAP,
            Self::ImpossibleTor => err::PMP_REGION_IMPOSSIBLE_TOR,
        }
    }
}

impl From<pmp::PmpError> for PmpError {
    fn from(e: pmp::PmpError) -> Self {
        match e {
            pmp::PmpError::SizeInvalid | pmp::PmpError::Overflow => Self::RegionSizeInvalid,
            pmp::PmpError::NotAligned => Self::NotAligned,
        }
    }
}

/// Handle to a defined region; valid until it is freed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionId(u8);

impl RegionId {
    /// The slot number, for logs and per-region tables kept by callers.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// What a defined region covers and which registers hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionView {
    pub base: usize,
    pub size: usize,
    pub mode: Mode,
    /// First register the region occupies.
    pub reg_idx: usize,
    /// Registers it occupies from `reg_idx` on (1 or 2).
    pub reg_count: usize,
}

/// One hardware write: `pmpaddr[index] = addr` and pmpcfg byte `index` = `cfg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub index: usize,
    pub addr: usize,
    pub cfg: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RegionDef {
    base: usize,
    size: usize,
    mode: Mode,
    allow_overlap: bool,
    reg_idx: u8,
    reg_count: u8,
}

impl RegionDef {
    const EMPTY: Self = Self {
        base: 0,
        size: 0,
        mode: Mode::Napot,
        allow_overlap: false,
        reg_idx: 0,
        reg_count: 0,
    };

    fn last(&self) -> usize {
        last_byte(self.base, self.size).unwrap_or(usize::MAX)
    }

    fn reg_mask(&self) -> u16 {
        (((1u32 << self.reg_count) - 1) << self.reg_idx) as u16
    }
}

/// Region definitions plus the registers they hold, like Keystone's `pmp.c` state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PmpAllocator {
    regions: [RegionDef; MAX_REGIONS],
    region_def_bitmap: u16,
    reg_bitmap: u16,
}

impl Default for PmpAllocator {
    fn default() -> Self {
        Self::new()
    }
}

/// True for Keystone's "all memory" region, which is exempt from page granularity.
fn is_all_memory(base: usize, size: usize) -> bool {
    base == 0 && size == usize::MAX
}

/// Last byte of [base, base + size), or None when the range is empty or wraps.
fn last_byte(base: usize, size: usize) -> Option<usize> {
    if is_all_memory(base, size) {
        return Some(usize::MAX);
    }
    base.checked_add(size.checked_sub(1)?)
}

impl PmpAllocator {
    /// An allocator with no regions and every register free.
    pub const fn new() -> Self {
        Self { regions: [RegionDef::EMPTY; MAX_REGIONS], region_def_bitmap: 0, reg_bitmap: 0 }
    }

    /// Bitmap of defined region slots, so tests and GDB can check bookkeeping.
    pub fn region_def_bitmap(&self) -> u16 {
        self.region_def_bitmap
    }

    /// Bitmap of registers in use, so the firmware knows which ones to leave alone.
    pub fn reg_bitmap(&self) -> u16 {
        self.reg_bitmap
    }

    /// Defines a region and reserves its registers, picking NAPOT whenever it fits.
    ///
    /// Checks run in this order: size, page granularity, wrap-around, register
    /// choice (TOR feasibility, free registers), overlap, free region slot.
    pub fn define(
        &mut self,
        base: usize,
        size: usize,
        priority: Priority,
        allow_overlap: bool,
    ) -> Result<RegionId, PmpError> {
        let all = is_all_memory(base, size);
        if size == 0 {
            return Err(PmpError::RegionSizeInvalid);
        }
        if !all && (!base.is_multiple_of(PAGE_SIZE) || !size.is_multiple_of(PAGE_SIZE)) {
            return Err(PmpError::NotPageGranularity);
        }
        let last = last_byte(base, size).ok_or(PmpError::RegionSizeInvalid)?;
        let mode = if all || (size.is_power_of_two() && base.is_multiple_of(size)) {
            Mode::Napot
        } else {
            // TOR stores the end, which must itself be an address.
            base.checked_add(size).ok_or(PmpError::RegionSizeInvalid)?;
            Mode::Tor
        };
        let (reg_idx, reg_count) = self.pick_registers(mode, priority, base)?;
        if !allow_overlap && self.overlaps_exclusive(base, last) {
            return Err(PmpError::Overlap);
        }
        let slot = (0..MAX_REGIONS)
            .find(|&i| self.region_def_bitmap & (1 << i) == 0)
            .ok_or(PmpError::MaxReached)?;
        self.regions[slot] = RegionDef {
            base,
            size,
            mode,
            allow_overlap,
            reg_idx: reg_idx as u8,
            reg_count: reg_count as u8,
        };
        self.region_def_bitmap |= 1 << slot;
        self.reg_bitmap |= self.regions[slot].reg_mask();
        Ok(RegionId(slot as u8))
    }

    /// Chooses the registers for a new region without changing any state.
    fn pick_registers(
        &self,
        mode: Mode,
        priority: Priority,
        base: usize,
    ) -> Result<(usize, usize), PmpError> {
        let free = |mask: u16| self.reg_bitmap & mask == 0;
        match (mode, priority) {
            (Mode::Napot, Priority::Any) => {
                (0..BOTTOM_REG).find(|&i| free(1 << i)).map(|i| (i, 1)).ok_or(PmpError::MaxReached)
            }
            // At register 0 a TOR entry's lower bound is implicitly 0.
            (Mode::Tor, Priority::Any) if base == 0 && free(1) => Ok((0, 1)),
            (Mode::Tor, Priority::Any) => (0..BOTTOM_REG - 1)
                .find(|&i| free(0b11 << i))
                .map(|i| (i, 2))
                .ok_or(PmpError::MaxReached),
            (Mode::Tor, Priority::Top) if base != 0 => Err(PmpError::ImpossibleTor),
            (_, Priority::Top) if free(1) => Ok((0, 1)),
            (_, Priority::Top) => Err(PmpError::MaxReached),
            (Mode::Napot, Priority::Bottom) => Ok((BOTTOM_REG, 1)),
            (Mode::Tor, Priority::Bottom) => Err(PmpError::ImpossibleTor),
        }
    }

    /// Forgets a region and releases its registers (the bottom one once unshared).
    pub fn free(&mut self, id: RegionId) -> Result<(), PmpError> {
        let def = *self.def(id).ok_or(PmpError::Invalid)?;
        self.region_def_bitmap &= !(1 << id.0);
        self.regions[id.index()] = RegionDef::EMPTY;
        let shared = def.reg_idx as usize == BOTTOM_REG
            && self.defined().any(|i| self.regions[i].reg_idx as usize == BOTTOM_REG);
        if !shared {
            self.reg_bitmap &= !def.reg_mask();
        }
        Ok(())
    }

    /// What a region covers and where it sits, or None for an unknown id.
    pub fn region(&self, id: RegionId) -> Option<RegionView> {
        self.def(id).map(|d| RegionView {
            base: d.base,
            size: d.size,
            mode: d.mode,
            reg_idx: d.reg_idx as usize,
            reg_count: d.reg_count as usize,
        })
    }

    /// Ids of every defined region, lowest slot first.
    pub fn regions(&self) -> impl Iterator<Item = RegionId> {
        let bitmap = self.region_def_bitmap;
        (0..MAX_REGIONS).filter(move |&i| bitmap & (1 << i) != 0).map(|i| RegionId(i as u8))
    }

    /// True when [base, base + size) meets a region that does not allow overlap,
    /// which is exactly the test `define` makes; an empty range meets nothing.
    pub fn overlaps_any(&self, base: usize, size: usize) -> bool {
        last_byte(base, size).is_some_and(|last| self.overlaps_exclusive(base, last))
    }

    /// The hardware writes that enable a region with permissions `perm`.
    pub fn entries(&self, id: RegionId, perm: u8) -> Result<[Option<Entry>; 2], PmpError> {
        let d = self.def(id).ok_or(PmpError::Invalid)?;
        if perm & !PERM_MASK != 0 {
            return Err(PmpError::Invalid);
        }
        let i = d.reg_idx as usize;
        match d.mode {
            Mode::Napot => {
                let addr = if is_all_memory(d.base, d.size) {
                    NAPOT_ALL
                } else {
                    pmp::napot_encode(d.base, d.size)?
                };
                Ok([Some(Entry { index: i, addr, cfg: A_NAPOT | perm }), None])
            }
            Mode::Tor => {
                let (lo, hi) = pmp::tor_encode(d.base, d.size)?;
                let top =
                    Entry { index: i + d.reg_count as usize - 1, addr: hi, cfg: A_TOR | perm };
                if d.reg_count == 1 {
                    if d.base != 0 {
                        return Err(PmpError::ImpossibleTor);
                    }
                    return Ok([Some(top), None]);
                }
                Ok([Some(Entry { index: i, addr: lo, cfg: 0 }), Some(top)])
            }
        }
    }

    /// The hardware writes that turn a region's registers off (addr 0, cfg 0).
    pub fn clear_entries(&self, id: RegionId) -> [Option<Entry>; 2] {
        let mut out = [None; 2];
        if let Some(d) = self.def(id) {
            for (k, slot) in out.iter_mut().take(d.reg_count as usize).enumerate() {
                *slot = Some(Entry { index: d.reg_idx as usize + k, addr: 0, cfg: 0 });
            }
        }
        out
    }

    fn def(&self, id: RegionId) -> Option<&RegionDef> {
        let i = id.index();
        (i < MAX_REGIONS && self.region_def_bitmap & (1 << i) != 0).then(|| &self.regions[i])
    }

    fn defined(&self) -> impl Iterator<Item = usize> + '_ {
        self.regions().map(RegionId::index)
    }

    fn overlaps_exclusive(&self, base: usize, last: usize) -> bool {
        self.defined()
            .map(|i| &self.regions[i])
            .any(|r| !r.allow_overlap && r.base <= last && base <= r.last())
    }
}

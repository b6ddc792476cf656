//! PMP encoding: how a physical range becomes pmpaddr/pmpcfg values.
//!
//! Pure arithmetic, no CSR access, so it is unit-tested on the build machine.
//! Register writes live in the firmware's `arch` module.

/// Read permission bit of a pmpcfg entry.
pub const R: u8 = 1 << 0;
/// Write permission bit of a pmpcfg entry.
pub const W: u8 = 1 << 1;
/// Execute permission bit of a pmpcfg entry.
pub const X: u8 = 1 << 2;
/// Address-matching mode "top of range".
pub const A_TOR: u8 = 1 << 3;
/// Address-matching mode "naturally aligned power of two".
pub const A_NAPOT: u8 = 3 << 3;
/// Lock bit: the entry also binds M-mode and cannot be changed until reset.
pub const L: u8 = 1 << 7;
/// pmpaddr value of a NAPOT entry covering the whole address space.
pub const NAPOT_ALL: usize = usize::MAX;

/// Entries per pmpcfg CSR on RV64 (only the even-numbered CSRs exist).
pub const ENTRIES_PER_CFG: usize = 8;

/// Why a range cannot be expressed as requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PmpError {
    /// Size is zero, not a power of two, or below the 8-byte NAPOT minimum.
    SizeInvalid,
    /// Base is not aligned to the size (NAPOT) or to 4 bytes (TOR).
    NotAligned,
    /// base + size wraps around the address space.
    Overflow,
}

/// A physical range as an inclusive-exclusive [base, base + size).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub base: usize,
    pub size: usize,
}

impl Range {
    /// Builds a range, refusing empty or wrapping ones so later checks can add freely.
    pub fn new(base: usize, size: usize) -> Result<Self, PmpError> {
        if size == 0 {
            return Err(PmpError::SizeInvalid);
        }
        base.checked_add(size).ok_or(PmpError::Overflow)?;
        Ok(Self { base, size })
    }

    /// First address after the range.
    pub fn end(&self) -> usize {
        self.base + self.size
    }

    /// True when the two ranges share at least one byte.
    pub fn overlaps(&self, other: &Range) -> bool {
        self.base < other.end() && other.base < self.end()
    }

    /// True when `other` lies entirely inside `self`.
    pub fn contains(&self, other: &Range) -> bool {
        other.base >= self.base && other.end() <= self.end()
    }
}

/// pmpaddr value for a NAPOT region; the SM uses NAPOT wherever it can.
pub fn napot_encode(base: usize, size: usize) -> Result<usize, PmpError> {
    if size < 8 || !size.is_power_of_two() {
        return Err(PmpError::SizeInvalid);
    }
    if base & (size - 1) != 0 {
        return Err(PmpError::NotAligned);
    }
    base.checked_add(size - 1).ok_or(PmpError::Overflow)?;
    Ok((base >> 2) | ((size >> 3) - 1))
}

/// Inverse of [`napot_encode`], so GDB/tests can show what an entry covers.
pub fn napot_decode(addr: usize) -> Range {
    if addr == NAPOT_ALL {
        return Range { base: 0, size: 0 };
    }
    let ones = addr.trailing_ones();
    let size = 1usize << (ones + 3);
    let base = (addr & !((1usize << ones) - 1)) << 2;
    Range { base, size }
}

/// The pair of pmpaddr values (entry i, entry i + 1) for a TOR region.
pub fn tor_encode(base: usize, size: usize) -> Result<(usize, usize), PmpError> {
    let range = Range::new(base, size)?;
    if !base.is_multiple_of(4) || !size.is_multiple_of(4) {
        return Err(PmpError::NotAligned);
    }
    Ok((range.base >> 2, range.end() >> 2))
}

/// Which pmpcfg CSR (0, 2, ...) holds `entry`, and the bit shift inside it.
pub fn cfg_location(entry: usize) -> (usize, u32) {
    ((entry / ENTRIES_PER_CFG) * 2, ((entry % ENTRIES_PER_CFG) * 8) as u32)
}

/// Returns `reg` with the configuration byte at `shift` replaced by `cfg`.
pub fn cfg_replace(reg: usize, shift: u32, cfg: u8) -> usize {
    (reg & !(0xff << shift)) | ((cfg as usize) << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn napot_of_sm_region_matches_the_spec_formula() {
        assert_eq!(napot_encode(0x8000_0000, 0x20_0000), Ok(0x2003_ffff));
    }

    #[test]
    fn napot_smallest_region_is_eight_bytes() {
        assert_eq!(napot_encode(0x1000, 8), Ok(0x400));
        assert_eq!(napot_encode(0x1000, 4), Err(PmpError::SizeInvalid));
    }

    #[test]
    fn napot_rejects_non_power_of_two_sizes() {
        assert_eq!(napot_encode(0x8000_0000, 0x3000), Err(PmpError::SizeInvalid));
        assert_eq!(napot_encode(0x8000_0000, 0), Err(PmpError::SizeInvalid));
    }

    #[test]
    fn napot_rejects_unaligned_bases() {
        assert_eq!(napot_encode(0x8000_1000, 0x20_0000), Err(PmpError::NotAligned));
    }

    #[test]
    fn napot_rejects_wrapping_regions() {
        assert_eq!(
            napot_encode(1usize << 63, 1usize << 63),
            Ok(((1usize << 63) >> 2) | ((1usize << 60) - 1))
        );
        assert!(napot_encode(usize::MAX - 7, 16).is_err());
    }

    #[test]
    fn napot_decode_inverts_encode() {
        for (base, size) in [(0x8000_0000, 0x20_0000), (0x1000, 8), (0x8040_0000, 0x40_0000)] {
            let addr = napot_encode(base, size).unwrap();
            assert_eq!(napot_decode(addr), Range { base, size });
        }
    }

    #[test]
    fn tor_encodes_bounds_shifted_by_two() {
        assert_eq!(tor_encode(0x8020_0000, 0x3000), Ok((0x2008_0000, 0x2008_0c00)));
    }

    #[test]
    fn tor_rejects_empty_unaligned_and_wrapping_ranges() {
        assert_eq!(tor_encode(0x1000, 0), Err(PmpError::SizeInvalid));
        assert_eq!(tor_encode(0x1002, 0x1000), Err(PmpError::NotAligned));
        assert_eq!(tor_encode(usize::MAX - 3, 8), Err(PmpError::Overflow));
    }

    #[test]
    fn cfg_location_uses_even_csrs_on_rv64() {
        assert_eq!(cfg_location(0), (0, 0));
        assert_eq!(cfg_location(7), (0, 56));
        assert_eq!(cfg_location(8), (2, 0));
        assert_eq!(cfg_location(15), (2, 56));
    }

    #[test]
    fn cfg_replace_touches_only_one_byte() {
        let reg = 0x1122_3344_5566_7788usize;
        assert_eq!(cfg_replace(reg, 8, A_NAPOT | R), 0x1122_3344_5566_1988);
    }

    #[test]
    fn ranges_overlap_only_when_sharing_a_byte() {
        let a = Range::new(0x1000, 0x1000).unwrap();
        assert!(a.overlaps(&Range::new(0x1fff, 1).unwrap()));
        assert!(!a.overlaps(&Range::new(0x2000, 0x1000).unwrap()));
        assert!(!a.overlaps(&Range::new(0, 0x1000).unwrap()));
        assert!(a.contains(&Range::new(0x1800, 0x800).unwrap()));
        assert!(!a.contains(&Range::new(0x1800, 0x801).unwrap()));
    }
}

//! Ranges of a caller's memory named by SBI arguments: the constructor is
//! the check. An S-mode caller hands the SM a virtual address and a count;
//! `UserRange::new` refuses an overflowing, misaligned or over-long range
//! before anything is read, so the code that copies (the firmware's typed
//! `umem::USlice`, through MPRV with fault handling) only ever sees ranges
//! that fit the address space.

/// Why a caller's range was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UmemError {
    /// base + length wraps around the address space.
    Overflow,
    /// base is not aligned for the element type.
    Misaligned,
    /// More elements than the call allows.
    TooLong,
}

/// `count` elements of `elem_size` bytes at `base`, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserRange {
    base: usize,
    len: usize,
}

impl UserRange {
    /// Checks `count` elements of `elem_size` bytes (aligned to `align`, a
    /// power of two) at `base`, at most `max_count` of them.
    pub fn new(
        base: usize,
        count: usize,
        elem_size: usize,
        align: usize,
        max_count: usize,
    ) -> Result<Self, UmemError> {
        debug_assert!(align.is_power_of_two());
        if count > max_count {
            return Err(UmemError::TooLong);
        }
        if base & (align - 1) != 0 {
            return Err(UmemError::Misaligned);
        }
        let len = count.checked_mul(elem_size).ok_or(UmemError::Overflow)?;
        if len > 0 {
            base.checked_add(len - 1).ok_or(UmemError::Overflow)?;
        }
        Ok(Self { base, len })
    }

    /// First byte.
    pub fn base(&self) -> usize {
        self.base
    }

    /// Bytes in the range.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a range of no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// One address in every 4 KiB page the range touches, in order, and its
    /// last byte: probing these (reads) before a write tells whether the
    /// whole range is writable without writing any of it.
    pub fn probes(&self) -> impl Iterator<Item = usize> + '_ {
        let last = if self.len == 0 { self.base } else { self.base + (self.len - 1) };
        let first_page = self.base & !0xfff;
        let pages = if self.len == 0 { 0 } else { ((last & !0xfff) - first_page) / 0x1000 + 1 };
        (0..pages)
            .map(move |i| (first_page + i * 0x1000).max(self.base))
            .chain((self.len > 0).then_some(last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_that_wraps_the_address_space_is_refused() {
        assert_eq!(UserRange::new(usize::MAX - 7, 2, 8, 8, 8), Err(UmemError::Overflow));
        assert_eq!(UserRange::new(8, usize::MAX, 8, 8, usize::MAX), Err(UmemError::Overflow));
        assert!(UserRange::new(usize::MAX - 7, 1, 8, 8, 8).is_ok());
    }

    #[test]
    fn a_misaligned_base_is_refused() {
        assert_eq!(UserRange::new(0x1004, 1, 8, 8, 1), Err(UmemError::Misaligned));
        assert!(UserRange::new(0x1003, 5, 1, 1, 5).is_ok());
    }

    #[test]
    fn more_elements_than_allowed_are_refused() {
        assert_eq!(UserRange::new(0x1000, 1025, 1, 1, 1024), Err(UmemError::TooLong));
        assert_eq!(UserRange::new(0x1000, 1024, 1, 1, 1024).map(|r| r.len()), Ok(1024));
    }

    #[test]
    fn probes_touch_every_page_and_the_last_byte() {
        let r = UserRange::new(0x1ff8, 0x2010, 1, 1, 0x10000).unwrap();
        let p: Vec<usize> = r.probes().collect();
        assert_eq!(p, vec![0x1ff8, 0x2000, 0x3000, 0x4000, 0x4007]);
        let one = UserRange::new(0x5000, 1, 1, 1, 1).unwrap();
        assert_eq!(one.probes().collect::<Vec<_>>(), vec![0x5000, 0x5000]);
        let none = UserRange::new(0x5000, 0, 1, 1, 1).unwrap();
        assert_eq!(none.probes().count(), 0);
        assert!(none.is_empty());
    }
}

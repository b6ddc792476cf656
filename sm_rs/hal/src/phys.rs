//! Physical memory outside the SM, through a checked range type.
//!
//! The SM's Rust objects (image, .bss, stacks, its private pages) all live in
//! [SM_BASE, SM_BASE + SM_SIZE). A [`PhysRange`] can only be built for memory
//! that does not overlap that region and does not wrap, so writing through
//! one can never change a Rust object of the SM: it is plain memory to the
//! SM (M-mode is not subject to PMP). Which range is the *right* one (the
//! caller's enclave, the UTM, the host's buffer) is the firmware's check.

use keystone_abi::layout::{SM_BASE, SM_SIZE};

/// `[base, base + size)`: no overflow, not empty, and no byte of the SM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhysRange {
    base: usize,
    size: usize,
}

impl PhysRange {
    /// The range, or `None` when it is empty, wraps, or overlaps the SM.
    pub const fn new(base: usize, size: usize) -> Option<Self> {
        let Some(end) = base.checked_add(size) else { return None };
        if size == 0 || (base < SM_BASE + SM_SIZE && SM_BASE < end) {
            return None;
        }
        Some(Self { base, size })
    }
    /// The first address.
    pub const fn base(&self) -> usize {
        self.base
    }
    /// The length in bytes.
    pub const fn size(&self) -> usize {
        self.size
    }
    /// One past the last address.
    pub const fn end(&self) -> usize {
        self.base + self.size
    }
    /// The sub-range `[base + offset, + len)`, if it lies inside this one.
    pub const fn sub(&self, offset: usize, len: usize) -> Option<Self> {
        match offset.checked_add(len) {
            Some(end) if end <= self.size && len != 0 => {
                Some(Self { base: self.base + offset, size: len })
            }
            _ => None,
        }
    }
}

#[cfg(target_os = "none")]
mod access {
    use super::PhysRange;
    use core::sync::atomic::{AtomicBool, Ordering};

    /// Set once any hart first leaves M-mode (`entry::enter_supervisor`):
    /// until then nothing but the boot hart's M-mode code writes memory.
    static LOWER_PRIVILEGE_STARTED: AtomicBool = AtomicBool::new(false);

    /// Called by the entry code before a hart first enters S-mode.
    pub(crate) fn lower_privilege_starting() {
        LOWER_PRIVILEGE_STARTED.store(true, Ordering::SeqCst);
    }

    /// True until any hart has left M-mode.
    pub fn before_lower_privilege() -> bool {
        !LOWER_PRIVILEGE_STARTED.load(Ordering::SeqCst)
    }

    /// Zeroes the whole range (an enclave's EPM or UTM, a scrub).
    pub fn zero(range: PhysRange) {
        // SAFETY: the range is outside the SM (PhysRange), so no Rust object
        // of the SM is written; M-mode is not subject to PMP.
        unsafe { core::ptr::write_bytes(range.base as *mut u8, 0, range.size) };
    }

    /// Byte `offset` of the range (panics when outside it).
    #[inline]
    pub fn read_u8(range: PhysRange, offset: usize) -> u8 {
        assert!(offset < range.size, "offset {offset:#x} outside {range:x?}");
        // SAFETY: inside a PhysRange (see `zero`); a volatile read, as the
        // memory may be another hart's lower-privilege memory.
        unsafe { ((range.base + offset) as *const u8).read_volatile() }
    }

    /// Writes byte `offset` of the range (panics when outside it).
    #[inline]
    pub fn write_u8(range: PhysRange, offset: usize, value: u8) {
        assert!(offset < range.size, "offset {offset:#x} outside {range:x?}");
        // SAFETY: as in `read_u8`.
        unsafe { ((range.base + offset) as *mut u8).write_volatile(value) };
    }

    /// Writes the 4-byte word at the start of the range (an MMIO register).
    pub fn write_u32(range: PhysRange, value: u32) {
        assert!(range.size >= 4 && range.base.is_multiple_of(4), "{range:x?} holds no word");
        // SAFETY: inside a PhysRange (see `zero`), aligned and 4 bytes long.
        unsafe { (range.base as *mut u32).write_volatile(value) };
    }

    /// Copies the range's first `dst.len()` bytes into `dst` (panics when
    /// the range is shorter).
    pub fn read_into(range: PhysRange, dst: &mut [u8]) {
        assert!(dst.len() <= range.size, "{} bytes do not fit {range:x?}", dst.len());
        // SAFETY: the source is inside a PhysRange (see `zero`), so it cannot
        // overlap `dst`, a Rust object of the SM.
        unsafe {
            core::ptr::copy_nonoverlapping(range.base as *const u8, dst.as_mut_ptr(), dst.len())
        };
    }

    /// Copies `src` to the start of the range (panics when it does not fit).
    pub fn write_from(range: PhysRange, src: &[u8]) {
        assert!(src.len() <= range.size, "{} bytes do not fit {range:x?}", src.len());
        // SAFETY: as in `read_into`, the other way round.
        unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), range.base as *mut u8, src.len()) };
    }

    /// Lends the range's bytes to `f` in place, without a copy (the
    /// measurement of a closed EPM, where a copy costs 1.3% of CREATE).
    /// # Safety
    /// Nothing writes the range while `f` runs: no lower-privilege code may
    /// (the PMP closes it on every hart) and no other M-mode code does.
    pub unsafe fn with_bytes_unshared<R>(range: PhysRange, f: impl FnOnce(&[u8]) -> R) -> R {
        // SAFETY: outside the SM (no Rust object aliases it) and, by the
        // caller's contract, unwritten while `f` holds the borrow.
        f(unsafe { core::slice::from_raw_parts(range.base as *const u8, range.size) })
    }

    /// Lends the range's bytes to `f` during boot, before any hart has left
    /// M-mode, so nothing can write them while `f` reads (the loader's device
    /// tree and images). Panics after boot.
    pub fn with_boot_bytes<R>(range: PhysRange, f: impl FnOnce(&[u8]) -> R) -> R {
        assert!(before_lower_privilege(), "boot-time read of {range:x?} after boot");
        // SAFETY: outside the SM (no Rust object aliases it), and no other
        // writer exists yet: only the boot hart runs, in M-mode, and `f`
        // cannot start another hart's S-mode (only the boot hart's return
        // from boot does, after this borrow ends).
        f(unsafe { core::slice::from_raw_parts(range.base as *const u8, range.size) })
    }
}

#[cfg(target_os = "none")]
pub use access::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_outside_the_sm_are_accepted() {
        let r = PhysRange::new(SM_BASE + SM_SIZE, 0x1000).unwrap();
        assert_eq!(
            (r.base(), r.size(), r.end()),
            (SM_BASE + SM_SIZE, 0x1000, SM_BASE + SM_SIZE + 0x1000)
        );
        assert!(PhysRange::new(SM_BASE - 0x1000, 0x1000).is_some());
        assert!(PhysRange::new(0x1000_0000, 4).is_some());
    }

    #[test]
    fn any_byte_of_the_sm_is_refused() {
        assert_eq!(PhysRange::new(SM_BASE, 1), None);
        assert_eq!(PhysRange::new(SM_BASE + SM_SIZE - 1, 1), None);
        assert_eq!(PhysRange::new(SM_BASE - 1, 2), None);
        assert_eq!(PhysRange::new(SM_BASE - 0x1000, SM_SIZE + 0x2000), None);
    }

    #[test]
    fn empty_and_wrapping_ranges_are_refused() {
        assert_eq!(PhysRange::new(SM_BASE + SM_SIZE, 0), None);
        assert_eq!(PhysRange::new(usize::MAX, 2), None);
        assert_eq!(PhysRange::new(usize::MAX - 0xfff, 0x1000), None);
    }

    #[test]
    fn sub_ranges_stay_inside() {
        let r = PhysRange::new(SM_BASE + SM_SIZE, 0x1000).unwrap();
        assert_eq!(
            r.sub(0x10, 0x20).map(|s| (s.base(), s.size())),
            Some((SM_BASE + SM_SIZE + 0x10, 0x20))
        );
        assert_eq!(r.sub(0xff0, 0x10).map(|s| s.end()), Some(r.end()));
        assert_eq!(r.sub(0xff0, 0x11), None);
        assert_eq!(r.sub(usize::MAX, 2), None);
        assert_eq!(r.sub(0, 0), None);
    }
}

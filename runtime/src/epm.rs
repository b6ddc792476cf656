//! Physical ranges of the enclave's memory (EPM), as the SM handed it over
//! in a1/a2 (docs/abi.md §4.1). The check is a constructor: a
//! [`PhysRange`] exists only for bytes inside the EPM, so what the loader
//! and the runtime turn into slices (their files, the window's pages) is in
//! the EPM by construction, with no overflow anywhere.

use crate::{page_down, PAGE_SIZE};
use keystone_abi::eyrie::vm::{EPM_WINDOW, EPM_WINDOW_MAX};

/// The EPM `[base, base + size)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Epm {
    base: usize,
    size: usize,
}

/// `[pa, pa + len)` inside an [`Epm`] (only [`Epm`] makes one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhysRange {
    pa: usize,
    len: usize,
    /// `pa - epm base`.
    offset: usize,
}

impl Epm {
    /// The EPM at `base`, `size` bytes; None if it wraps the address space
    /// or is larger than the runtime's window onto it.
    pub const fn new(base: usize, size: usize) -> Option<Epm> {
        match base.checked_add(size) {
            Some(_) if size <= EPM_WINDOW_MAX => Some(Epm { base, size }),
            _ => None,
        }
    }

    /// An EPM of no bytes: no range is inside it.
    pub const fn empty() -> Epm {
        Epm { base: 0, size: 0 }
    }

    pub const fn base(&self) -> usize {
        self.base
    }

    pub const fn size(&self) -> usize {
        self.size
    }

    /// One past the last byte.
    pub const fn end(&self) -> usize {
        self.base + self.size
    }

    /// `[pa, pa + len)` if every byte of it is in the EPM.
    pub fn range(&self, pa: usize, len: usize) -> Option<PhysRange> {
        let end = pa.checked_add(len)?;
        if pa < self.base || end > self.end() {
            return None;
        }
        Some(PhysRange { pa, len, offset: pa - self.base })
    }

    /// `[start, end)` if `start <= end` and both are in the EPM.
    pub fn span(&self, start: usize, end: usize) -> Option<PhysRange> {
        self.range(start, end.checked_sub(start)?)
    }

    /// The whole page holding `pa`, if it is in the EPM.
    pub fn page(&self, pa: usize) -> Option<PhysRange> {
        self.range(page_down(pa), PAGE_SIZE)
    }
}

impl PhysRange {
    pub const fn pa(&self) -> usize {
        self.pa
    }

    pub const fn len(&self) -> usize {
        self.len
    }

    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// One past the last byte.
    pub const fn end(&self) -> usize {
        self.pa + self.len
    }

    /// Where the runtime sees the first byte: all of EPM is mapped at
    /// EPM_WINDOW (`va = pa - base + EPM_WINDOW`).
    pub const fn window_va(&self) -> usize {
        EPM_WINDOW + self.offset
    }
}

/// The pages the runtime may reach through its window onto the EPM: its
/// root page table, its free memory `[free, epm end)` (user pages, user
/// page tables, its copy pages) and the whole pages of the eapp's file (the
/// runtime maps some of them to the eapp in place, so eapp buffers may lie
/// there). Not its own image, not the loader, not the runtime's file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowPages {
    epm: Epm,
    root: usize,
    free: usize,
    /// `[start, end)` of the eapp file's whole pages (empty if none).
    eapp: (usize, usize),
}

impl WindowPages {
    /// No page at all (before the runtime knows its EPM).
    pub const fn none() -> WindowPages {
        WindowPages { epm: Epm::empty(), root: 0, free: 0, eapp: (0, 0) }
    }

    /// The root table page `root`, the pages from `free` to the EPM's end
    /// and the whole pages inside `eapp` (the eapp's file).
    pub fn new(epm: Epm, root: usize, free: usize, eapp: PhysRange) -> WindowPages {
        let start = crate::page_up(eapp.pa()).unwrap_or(usize::MAX);
        let end = page_down(eapp.end());
        WindowPages { epm, root, free, eapp: (start, end.max(start)) }
    }

    /// The page holding `pa` if the runtime may reach it, else None.
    pub fn page(&self, pa: usize) -> Option<PhysRange> {
        let page = self.epm.page(pa)?;
        let p = page.pa();
        let in_eapp = p >= self.eapp.0 && p < self.eapp.1;
        (p == page_down(self.root) || p >= self.free || in_eapp).then_some(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: usize = 0x8200_0000;

    #[test]
    fn ranges_are_inside_or_nothing() {
        let epm = Epm::new(BASE, 0x10_0000).unwrap();
        let r = epm.range(BASE + 0x1000, 0x2000).unwrap();
        assert_eq!((r.pa(), r.len(), r.end()), (BASE + 0x1000, 0x2000, BASE + 0x3000));
        assert_eq!(r.window_va(), EPM_WINDOW + 0x1000);
        assert!(epm.range(BASE, 0x10_0000).is_some());
        assert!(epm.range(BASE + 0x10_0000, 0).is_some(), "empty at the end");
        assert_eq!(epm.range(BASE - 1, 2), None);
        assert_eq!(epm.range(BASE + 0xf_ffff, 2), None);
        assert_eq!(epm.range(usize::MAX, 2), None, "wraps");
        assert_eq!(epm.span(BASE + 0x2000, BASE + 0x1000), None, "backwards");
        assert_eq!(epm.span(BASE, BASE + 0x3000).map(|r| r.len()), Some(0x3000));
        assert_eq!(epm.page(BASE + 0x1234).map(|r| r.pa()), Some(BASE + 0x1000));
        assert_eq!(epm.page(BASE + 0x10_0000), None);
    }

    #[test]
    fn epm_must_fit_the_window_and_not_wrap() {
        assert!(Epm::new(BASE, EPM_WINDOW_MAX).is_some());
        assert_eq!(Epm::new(BASE, EPM_WINDOW_MAX + 1), None);
        assert_eq!(Epm::new(usize::MAX - 0xfff, 0x1000), None);
        assert_eq!(Epm::empty().range(0, 1), None);
    }

    #[test]
    fn the_window_reaches_the_root_free_memory_and_eapp_file_only() {
        let epm = Epm::new(BASE, 0x10_0000).unwrap();
        let eapp = epm.span(BASE + 0x2000, BASE + 0x4800).unwrap();
        let w = WindowPages::new(epm, BASE + 0x5000, BASE + 0x8000, eapp);
        assert_eq!(w.page(BASE + 0x2000).map(|p| p.pa()), Some(BASE + 0x2000), "eapp file");
        assert_eq!(w.page(BASE + 0x3fff).map(|p| p.pa()), Some(BASE + 0x3000), "eapp file");
        assert_eq!(w.page(BASE + 0x4000), None, "the eapp file's partial last page");
        assert_eq!(w.page(BASE + 0x1000), None, "the runtime's file");
        let odd = WindowPages::new(
            epm,
            BASE,
            BASE + 0x8000,
            epm.span(BASE + 0x1800, BASE + 0x2800).unwrap(),
        );
        assert_eq!(odd.page(BASE + 0x1800), None, "a page the eapp file starts inside");
        assert_eq!(odd.page(BASE + 0x2000), None, "a page it ends inside");
        assert_eq!(w.page(BASE + 0x5008).map(|p| p.pa()), Some(BASE + 0x5000), "root");
        assert_eq!(w.page(BASE + 0x8000).map(|p| p.pa()), Some(BASE + 0x8000), "free");
        assert_eq!(w.page(BASE + 0xf_f000).map(|p| p.len()), Some(PAGE_SIZE), "last page");
        assert_eq!(w.page(BASE + 0x6000), None, "the runtime's own image");
        assert_eq!(w.page(BASE), None, "the loader");
        assert_eq!(w.page(BASE + 0x10_0000), None, "past the EPM");
        assert_eq!(WindowPages::none().page(0), None);
    }
}

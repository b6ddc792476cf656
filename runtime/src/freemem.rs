//! The page allocator over the enclave's free memory: a bitmap, one bit per
//! page, kept in the runtime's own data so a bad page number can never be
//! followed (Eyrie keeps a list in the free pages themselves).

use crate::PAGE_SIZE;

/// Most pages the allocator manages (256 MiB of free memory).
pub const MAX_PAGES: usize = 65536;

/// Why a page could not be given back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreeError {
    /// Not a page of the managed range (or not page-aligned).
    NotOurs,
    /// The page is already free.
    DoubleFree,
}

/// Bitmap page allocator over `[base, base + pages * PAGE_SIZE)`.
pub struct FreeMem {
    base: usize,
    pages: usize,
    used: [u64; MAX_PAGES / 64],
    hint: usize,
    free: usize,
}

impl FreeMem {
    /// An allocator managing nothing (for statics, before `init`).
    pub const fn empty() -> Self {
        FreeMem { base: 0, pages: 0, used: [0; MAX_PAGES / 64], hint: 0, free: 0 }
    }

    /// Manages the whole pages inside `[start, end)`; returns how many.
    pub fn init(&mut self, start: usize, end: usize) -> usize {
        let base = match crate::page_up(start) {
            Some(b) => b,
            None => return 0,
        };
        let end = crate::page_down(end);
        let pages = if end > base { ((end - base) / PAGE_SIZE).min(MAX_PAGES) } else { 0 };
        *self = FreeMem { base, pages, used: [0; MAX_PAGES / 64], hint: 0, free: pages };
        pages
    }

    /// Takes one free page (its physical address), or None when exhausted.
    pub fn alloc(&mut self) -> Option<usize> {
        if self.free == 0 {
            return None;
        }
        for i in (self.hint..self.pages).chain(0..self.hint) {
            if self.used[i / 64] & (1 << (i % 64)) == 0 {
                self.used[i / 64] |= 1 << (i % 64);
                self.free -= 1;
                self.hint = i + 1;
                return Some(self.base + i * PAGE_SIZE);
            }
        }
        None
    }

    /// Gives back a page from `alloc`; a foreign or already free page is refused.
    pub fn free(&mut self, pa: usize) -> Result<(), FreeError> {
        if pa < self.base || !pa.is_multiple_of(PAGE_SIZE) {
            return Err(FreeError::NotOurs);
        }
        let i = (pa - self.base) / PAGE_SIZE;
        if i >= self.pages {
            return Err(FreeError::NotOurs);
        }
        if self.used[i / 64] & (1 << (i % 64)) == 0 {
            return Err(FreeError::DoubleFree);
        }
        self.used[i / 64] &= !(1 << (i % 64));
        self.free += 1;
        if i < self.hint {
            self.hint = i;
        }
        Ok(())
    }

    /// Pages still free.
    pub fn free_pages(&self) -> usize {
        self.free
    }

    /// Pages managed in all.
    pub fn total_pages(&self) -> usize {
        self.pages
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: usize = 0x8040_0000;

    #[test]
    fn allocates_every_page_once_then_runs_out() {
        let mut f = Box::new(FreeMem::empty());
        assert_eq!(f.init(BASE, BASE + 4 * PAGE_SIZE), 4);
        let mut got: Vec<usize> = (0..4).map(|_| f.alloc().unwrap()).collect();
        got.sort();
        assert_eq!(got, vec![BASE, BASE + 0x1000, BASE + 0x2000, BASE + 0x3000]);
        assert_eq!(f.alloc(), None);
        assert_eq!(f.free_pages(), 0);
    }

    #[test]
    fn unaligned_bounds_keep_only_whole_pages() {
        let mut f = Box::new(FreeMem::empty());
        assert_eq!(f.init(BASE + 1, BASE + 3 * PAGE_SIZE - 1), 1);
        assert_eq!(f.alloc(), Some(BASE + PAGE_SIZE));
        assert_eq!(f.alloc(), None);
        assert_eq!(f.init(BASE + PAGE_SIZE, BASE), 0);
        assert_eq!(f.init(usize::MAX - 5, usize::MAX), 0);
    }

    #[test]
    fn freed_pages_are_reused_and_bad_frees_refused() {
        let mut f = Box::new(FreeMem::empty());
        f.init(BASE, BASE + 8 * PAGE_SIZE);
        let a = f.alloc().unwrap();
        let b = f.alloc().unwrap();
        assert_eq!(f.free(a), Ok(()));
        assert_eq!(f.free(a), Err(FreeError::DoubleFree));
        assert_eq!(f.free(a + 8), Err(FreeError::NotOurs));
        assert_eq!(f.free(BASE - PAGE_SIZE), Err(FreeError::NotOurs));
        assert_eq!(f.free(BASE + 8 * PAGE_SIZE), Err(FreeError::NotOurs));
        assert_eq!(f.alloc(), Some(a), "the lowest free page comes back first");
        assert_ne!(f.alloc(), Some(b));
        assert_eq!(f.free_pages(), 8 - 3);
    }

    #[test]
    fn caps_at_max_pages_and_survives_churn() {
        let mut f = Box::new(FreeMem::empty());
        assert_eq!(f.init(BASE, BASE + (MAX_PAGES + 10) * PAGE_SIZE), MAX_PAGES);
        let pages: Vec<usize> = (0..MAX_PAGES).map(|_| f.alloc().unwrap()).collect();
        assert_eq!(f.alloc(), None);
        for p in pages.iter().step_by(3) {
            f.free(*p).unwrap();
        }
        let again = (0..MAX_PAGES).filter_map(|_| f.alloc()).count();
        assert_eq!(again, pages.iter().step_by(3).count());
        assert!(pages.iter().all(|p| (BASE..BASE + MAX_PAGES * PAGE_SIZE).contains(p)));
    }
}

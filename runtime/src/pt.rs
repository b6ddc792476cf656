//! Sv39 page tables. The tables live in physical pages reached through a
//! [`PhysMem`]: identity in the loader, the EPM window in the runtime, a map
//! of boxed pages in host tests.

use crate::PAGE_SIZE;

/// PTE bits.
pub mod flags {
    pub const V: u64 = 1 << 0;
    pub const R: u64 = 1 << 1;
    pub const W: u64 = 1 << 2;
    pub const X: u64 = 1 << 3;
    pub const U: u64 = 1 << 4;
    pub const G: u64 = 1 << 5;
    pub const A: u64 = 1 << 6;
    pub const D: u64 = 1 << 7;
    /// The permission bits a caller chooses.
    pub const PERMS: u64 = R | W | X | U;
    /// Software bit (RSW, ignored by the hardware): a user page shared with
    /// the host (the switchless ring). System calls refuse it as a buffer
    /// and it is never freed into the runtime's memory.
    pub const SHARED: u64 = 1 << 8;
}

/// `satp` MODE for Sv39.
pub const SATP_SV39: usize = 8 << 60;

/// Access to physical pages.
pub trait PhysMem {
    /// The page at physical address `pa` (page-aligned) as bytes.
    fn page(&mut self, pa: usize) -> &mut [u8; PAGE_SIZE];
    /// The page at `pa` as a page table.
    fn table(&mut self, pa: usize) -> &mut [u64; 512];
}

/// Why a mapping failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapError {
    /// No free page for a table.
    NoMemory,
    /// The virtual page is already mapped (or a superpage covers it).
    AlreadyMapped,
    /// An address is not page-aligned or not a canonical Sv39 address.
    BadAddress,
}

/// Whether `va` is a canonical Sv39 address (bits 63..39 copy bit 38).
pub const fn is_canonical(va: usize) -> bool {
    let top = (va as isize) >> 38;
    top == 0 || top == -1
}

fn index(va: usize, level: usize) -> usize {
    (va >> (12 + 9 * level)) & 0x1ff
}

fn pte_pa(pte: u64) -> usize {
    ((pte >> 10) << 12) as usize
}

fn is_leaf(pte: u64) -> bool {
    pte & (flags::R | flags::W | flags::X) != 0
}

/// The `satp` value selecting the table rooted at `root`.
pub const fn satp(root: usize) -> usize {
    SATP_SV39 | (root >> 12)
}

/// Maps the 4 KiB page `va` -> `pa` with `perms` (R/W/X/U); tables come from
/// `alloc` and are zeroed here. A and D are preset so no fault updates them.
pub fn map(
    mem: &mut impl PhysMem,
    alloc: &mut impl FnMut() -> Option<usize>,
    root: usize,
    va: usize,
    pa: usize,
    perms: u64,
) -> Result<(), MapError> {
    if !va.is_multiple_of(PAGE_SIZE) || !pa.is_multiple_of(PAGE_SIZE) || !is_canonical(va) {
        return Err(MapError::BadAddress);
    }
    let mut table = root;
    for level in [2, 1] {
        let pte = mem.table(table)[index(va, level)];
        if pte & flags::V == 0 {
            let new = alloc().ok_or(MapError::NoMemory)?;
            mem.table(new).fill(0);
            mem.table(table)[index(va, level)] = ((new as u64 >> 12) << 10) | flags::V;
            table = new;
        } else if is_leaf(pte) {
            return Err(MapError::AlreadyMapped);
        } else {
            table = pte_pa(pte);
        }
    }
    let slot = &mut mem.table(table)[index(va, 0)];
    if *slot & flags::V != 0 {
        return Err(MapError::AlreadyMapped);
    }
    *slot = ((pa as u64 >> 12) << 10)
        | (perms & (flags::PERMS | flags::SHARED))
        | flags::V
        | flags::A
        | flags::D;
    Ok(())
}

/// The leaf PTE slot of `va`: (table page, index, level), or None if unmapped.
fn walk(mem: &mut impl PhysMem, root: usize, va: usize) -> Option<(usize, usize, usize)> {
    if !is_canonical(va) {
        return None;
    }
    let mut table = root;
    for level in [2, 1, 0] {
        let pte = mem.table(table)[index(va, level)];
        if pte & flags::V == 0 {
            return None;
        }
        if is_leaf(pte) {
            return Some((table, index(va, level), level));
        }
        if level == 0 {
            return None;
        }
        table = pte_pa(pte);
    }
    None
}

/// Translates `va`: (physical address of that byte, PTE flags), if mapped.
pub fn translate(mem: &mut impl PhysMem, root: usize, va: usize) -> Option<(usize, u64)> {
    let (table, i, level) = walk(mem, root, va)?;
    let pte = mem.table(table)[i];
    let span = PAGE_SIZE << (9 * level);
    Some((pte_pa(pte) + (va & (span - 1)), pte & 0x3ff))
}

/// Removes the 4 KiB mapping of `va`; returns the page it mapped.
pub fn unmap(mem: &mut impl PhysMem, root: usize, va: usize) -> Option<usize> {
    let (table, i, level) = walk(mem, root, va)?;
    if level != 0 {
        return None;
    }
    let pte = core::mem::replace(&mut mem.table(table)[i], 0);
    Some(pte_pa(pte))
}

/// Adds `perms` to the existing 4 KiB mapping of `va` (segments sharing a page).
pub fn add_perms(mem: &mut impl PhysMem, root: usize, va: usize, perms: u64) -> bool {
    match walk(mem, root, va) {
        Some((table, i, 0)) => {
            mem.table(table)[i] |= perms & flags::PERMS;
            true
        }
        _ => false,
    }
}

#[cfg(test)]
pub mod testmem {
    //! Fake physical memory for host tests.
    use super::*;
    use std::collections::HashMap;

    /// Pages created on first touch, plus a bump allocator of fresh PAs.
    #[derive(Default)]
    pub struct FakeMem {
        pub pages: HashMap<usize, Box<[u8; PAGE_SIZE]>>,
        pub next: usize,
    }

    impl FakeMem {
        pub fn new(next: usize) -> Self {
            FakeMem { pages: HashMap::new(), next }
        }
        pub fn alloc(&mut self) -> usize {
            let pa = self.next;
            self.next += PAGE_SIZE;
            pa
        }
    }

    impl PhysMem for FakeMem {
        fn page(&mut self, pa: usize) -> &mut [u8; PAGE_SIZE] {
            assert_eq!(pa % PAGE_SIZE, 0);
            self.pages.entry(pa).or_insert_with(|| Box::new([0; PAGE_SIZE]))
        }
        fn table(&mut self, pa: usize) -> &mut [u64; 512] {
            let p: &mut [u8; PAGE_SIZE] = self.page(pa);
            assert_eq!(p.as_ptr() as usize % 8, 0);
            // SAFETY: [u8; 4096] and [u64; 512] have the same size; the box
            // is 8-aligned (checked) and every bit pattern is a valid u64.
            unsafe { &mut *(p as *mut [u8; PAGE_SIZE] as *mut [u64; 512]) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testmem::FakeMem;
    use super::*;

    fn setup() -> (FakeMem, usize, std::rc::Rc<std::cell::Cell<usize>>) {
        let mut mem = FakeMem::new(0x9000_0000);
        let root = mem.alloc();
        mem.table(root).fill(0);
        (mem, root, std::rc::Rc::new(std::cell::Cell::new(0xa000_0000)))
    }

    #[test]
    fn map_translate_unmap_round_trip() {
        let (mut mem, root, next) = setup();
        let mut alloc = || {
            let pa = next.get();
            next.set(pa + PAGE_SIZE);
            Some(pa)
        };
        let va = 0xffff_ffff_c000_3000;
        map(&mut mem, &mut alloc, root, va, 0x8123_4000, flags::R | flags::X).unwrap();
        let (pa, f) = translate(&mut mem, root, va + 0x123).unwrap();
        assert_eq!(pa, 0x8123_4123);
        assert_eq!(f & (flags::R | flags::W | flags::X | flags::U | flags::V), 0b1011);
        assert_eq!(translate(&mut mem, root, va + PAGE_SIZE), None);
        assert_eq!(
            map(&mut mem, &mut alloc, root, va, 0x8000_0000, flags::R),
            Err(MapError::AlreadyMapped)
        );
        assert!(add_perms(&mut mem, root, va, flags::W));
        assert_ne!(translate(&mut mem, root, va).unwrap().1 & flags::W, 0);
        assert_eq!(unmap(&mut mem, root, va), Some(0x8123_4000));
        assert_eq!(translate(&mut mem, root, va), None);
        assert_eq!(unmap(&mut mem, root, va), None);
        assert_eq!(next.get(), 0xa000_0000 + 2 * PAGE_SIZE, "two table pages");
    }

    #[test]
    fn rejects_bad_addresses_and_reports_no_memory() {
        let (mut mem, root, _) = setup();
        let mut none = || None;
        let mut some = || Some(0xb000_0000);
        assert_eq!(map(&mut mem, &mut some, root, 0x1001, 0, 0), Err(MapError::BadAddress));
        assert_eq!(map(&mut mem, &mut some, root, 0x1000, 7, 0), Err(MapError::BadAddress));
        assert_eq!(
            map(&mut mem, &mut some, root, 0x0000_8000_0000_0000, 0, 0),
            Err(MapError::BadAddress)
        );
        assert_eq!(map(&mut mem, &mut none, root, 0x1000, 0x2000, 0), Err(MapError::NoMemory));
        assert!(!is_canonical(0x40_0000_0000));
        assert!(is_canonical(0x3f_ffff_f000));
        assert!(is_canonical(0xffff_ffc0_0000_0000));
    }

    #[test]
    fn superpage_leaf_translates_and_blocks_4k_maps() {
        let (mut mem, root, _) = setup();
        // A gigapage leaf at root index 2 (VA 0x8000_0000 -> PA 0x8000_0000).
        mem.table(root)[2] = ((0x8000_0000u64 >> 12) << 10) | 0xcf;
        assert_eq!(translate(&mut mem, root, 0x8123_4567).unwrap().0, 0x8123_4567);
        let mut some = || Some(0xb000_0000);
        assert_eq!(
            map(&mut mem, &mut some, root, 0x8000_0000, 0, flags::R),
            Err(MapError::AlreadyMapped)
        );
        assert_eq!(unmap(&mut mem, root, 0x8000_0000), None);
    }
}

//! Eapp pointers: a system call may only name memory the eapp itself can
//! access (mapped with U, and W where the call writes), below USER_TOP.
//!
//! The check is a constructor: [`AddressSpace::readable`] and
//! [`AddressSpace::writable`] walk the page tables once and return a
//! [`UserSlice`]; the copy functions take only such slices, so no copy can
//! skip the check. A slice records the address space's generation, which
//! every unmap advances: a slice checked before an unmap is stale and the
//! copy refuses it (a runtime bug, so it panics rather than copy).

use crate::pt::{self, flags, translate, MapError, PhysMem};
use crate::PAGE_SIZE;
use core::marker::PhantomData;
use core::ops::Range;
use keystone_abi::eyrie::vm::USER_TOP;

mod sealed {
    pub trait Sealed {}
}

/// How the runtime will touch a user buffer: [`Read`] or [`Write`].
pub trait Access: sealed::Sealed {
    /// The PTE bits every page of the buffer needs (besides V and U).
    const PERMS: u64;
}

/// Access that reads the eapp's bytes: [`Read`], and [`Write`] (a writable
/// user page is also readable: W without R is reserved in Sv39).
pub trait Readable: Access {}

/// The runtime reads the buffer (the eapp's request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {}
/// The runtime writes the buffer (its answer to the eapp).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {}

impl sealed::Sealed for Read {}
impl sealed::Sealed for Write {}
impl Access for Read {
    const PERMS: u64 = flags::R;
}
impl Access for Write {
    const PERMS: u64 = flags::R | flags::W;
}
impl Readable for Read {}
impl Readable for Write {}

/// The eapp named memory that is not its own (or not with that access).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadPointer;

/// `[va, va + len)` of eapp memory, checked when it was made: every byte
/// below USER_TOP, every page mapped V|U with `A`'s permissions. Only an
/// [`AddressSpace`] makes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserSlice<A: Access> {
    va: usize,
    len: usize,
    generation: u64,
    _access: PhantomData<A>,
}

impl<A: Access> UserSlice<A> {
    /// The eapp's address of the first byte.
    pub fn va(&self) -> usize {
        self.va
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes `range` of this slice (still checked: a part of a checked range
    /// is), or None if `range` is not inside it.
    pub fn get(&self, range: Range<usize>) -> Option<UserSlice<A>> {
        if range.start > range.end || range.end > self.len {
            return None;
        }
        Some(UserSlice { va: self.va + range.start, len: range.end - range.start, ..*self })
    }

    /// The first `n` bytes (all of it if `n` is larger).
    pub fn prefix(&self, n: usize) -> UserSlice<A> {
        UserSlice { len: n.min(self.len), ..*self }
    }
}

/// The eapp's address space: its page tables (root `root`, reached through
/// `mem`), the only way to check eapp pointers and copy through them.
pub struct AddressSpace<M: PhysMem> {
    mem: M,
    root: usize,
    generation: u64,
}

impl<M: PhysMem> AddressSpace<M> {
    /// The address space whose Sv39 root table is the page at `root`.
    pub const fn new(mem: M, root: usize) -> Self {
        AddressSpace { mem, root, generation: 0 }
    }

    /// The root table's physical address.
    pub fn root(&self) -> usize {
        self.root
    }

    /// The physical memory the tables are reached through (to fill pages).
    /// Unmapping goes through [`AddressSpace::unmap`], which ages slices.
    pub fn mem(&mut self) -> &mut M {
        &mut self.mem
    }

    /// Checks `[va, va + len)` for access `A`: the constructor of [`UserSlice`].
    pub fn slice<A: Access>(&mut self, va: usize, len: usize) -> Result<UserSlice<A>, BadPointer> {
        if check(&mut self.mem, self.root, va, len, flags::V | flags::U | A::PERMS) {
            Ok(UserSlice { va, len, generation: self.generation, _access: PhantomData })
        } else {
            Err(BadPointer)
        }
    }

    /// A buffer the eapp lets the runtime read.
    pub fn readable(&mut self, va: usize, len: usize) -> Result<UserSlice<Read>, BadPointer> {
        self.slice(va, len)
    }

    /// A buffer the eapp lets the runtime write (and read).
    pub fn writable(&mut self, va: usize, len: usize) -> Result<UserSlice<Write>, BadPointer> {
        self.slice(va, len)
    }

    /// Copies all of `src` into `dst`, which must be exactly as long.
    pub fn copy_in<A: Readable>(&mut self, src: &UserSlice<A>, dst: &mut [u8]) {
        assert_eq!(dst.len(), src.len, "copy_in: buffer and user slice differ in length");
        self.for_each_chunk(src, |m, pa, done, n| {
            let off = pa % PAGE_SIZE;
            dst[done..done + n].copy_from_slice(&m.page(crate::page_down(pa))[off..off + n]);
        });
    }

    /// Copies all of `src` to `dst`, which must be exactly as long.
    pub fn copy_out(&mut self, dst: &UserSlice<Write>, src: &[u8]) {
        assert_eq!(src.len(), dst.len, "copy_out: buffer and user slice differ in length");
        self.for_each_chunk(dst, |m, pa, done, n| {
            let off = pa % PAGE_SIZE;
            m.page(crate::page_down(pa))[off..off + n].copy_from_slice(&src[done..done + n]);
        });
    }

    /// Calls `f(mem, pa, done, n)` for each physically contiguous piece of
    /// `s`: `n` bytes at physical `pa` are bytes `done..done + n` of it.
    fn for_each_chunk<A: Access>(
        &mut self,
        s: &UserSlice<A>,
        mut f: impl FnMut(&mut M, usize, usize, usize),
    ) {
        assert_eq!(s.generation, self.generation, "user slice used after an unmap");
        let mut done = 0;
        while done < s.len {
            let cur = s.va + done;
            let n = (PAGE_SIZE - cur % PAGE_SIZE).min(s.len - done);
            let (pa, _) = translate(&mut self.mem, self.root, cur).expect("checked slice");
            f(&mut self.mem, pa, done, n);
            done += n;
        }
    }

    /// Maps the 4 KiB page `va` -> `pa` (tables from `alloc`); see [`pt::map`].
    pub fn map(
        &mut self,
        alloc: &mut impl FnMut() -> Option<usize>,
        va: usize,
        pa: usize,
        perms: u64,
    ) -> Result<(), MapError> {
        pt::map(&mut self.mem, alloc, self.root, va, pa, perms)
    }

    /// Removes the 4 KiB mapping of `va` if it is a user page (not one
    /// shared with the host); returns the page it mapped. Every slice made
    /// before is stale afterwards.
    pub fn unmap_user(&mut self, va: usize) -> Option<usize> {
        match translate(&mut self.mem, self.root, va) {
            Some((_, f)) if f & flags::U != 0 && f & flags::SHARED == 0 => {
                self.generation += 1;
                pt::unmap(&mut self.mem, self.root, va)
            }
            _ => None,
        }
    }

    /// Translates `va`: (physical address, PTE flags), if mapped.
    pub fn translate(&mut self, va: usize) -> Option<(usize, u64)> {
        translate(&mut self.mem, self.root, va)
    }

    /// Adds `perms` to the existing 4 KiB mapping of `va` (never ages slices:
    /// it only grants more).
    pub fn add_perms(&mut self, va: usize, perms: u64) -> bool {
        pt::add_perms(&mut self.mem, self.root, va, perms)
    }
}

/// Whether every byte of `[va, va + len)` is below USER_TOP and every page
/// is mapped with all of `need` and is not shared with the host (the host
/// may change a shared page at any time, so it is no buffer to check and copy).
fn check(mem: &mut impl PhysMem, root: usize, va: usize, len: usize, need: u64) -> bool {
    if len == 0 {
        return true;
    }
    let end = match va.checked_add(len) {
        Some(e) if e <= USER_TOP => e,
        _ => return false,
    };
    let mut page = crate::page_down(va);
    while page < end {
        match translate(mem, root, page) {
            Some((_, f)) if f & need == need && f & flags::SHARED == 0 => {}
            _ => return false,
        }
        page += PAGE_SIZE;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pt::testmem::FakeMem;

    fn setup() -> AddressSpace<FakeMem> {
        let mut mem = FakeMem::new(0x9000_0000);
        let root = mem.alloc();
        let mut s = AddressSpace::new(mem, root);
        let mut next = 0xa000_0000;
        let mut alloc = || {
            next += PAGE_SIZE;
            Some(next)
        };
        // Two user RW pages at 0x10000, one user read-only page after them,
        // a kernel page at 0x20000.
        s.map(&mut alloc, 0x10000, 0x8001_0000, flags::R | flags::W | flags::U).unwrap();
        s.map(&mut alloc, 0x11000, 0x8003_0000, flags::R | flags::W | flags::U).unwrap();
        s.map(&mut alloc, 0x12000, 0x8005_0000, flags::R | flags::U).unwrap();
        s.map(&mut alloc, 0x20000, 0x8006_0000, flags::R | flags::W).unwrap();
        s
    }

    #[test]
    fn checks_mapping_u_bit_write_and_bounds() {
        let mut s = setup();
        assert!(s.writable(0x10000, 0x2000).is_ok());
        assert!(s.readable(0x10ff0, 0x2010).is_ok());
        assert_eq!(s.writable(0x10ff0, 0x2010), Err(BadPointer), "read-only page");
        assert!(s.readable(0x12ff0, 0x20).is_err(), "runs off the end");
        assert!(s.readable(0x20000, 1).is_err(), "kernel page (no U)");
        assert!(s.readable(0xffff_ffff_c000_0000, 1).is_err());
        assert!(s.readable(usize::MAX - 2, 8).is_err(), "wraps");
        assert!(s.readable(USER_TOP - 1, 2).is_err(), "crosses USER_TOP");
        assert!(s.writable(0xdead_0000, 0).is_ok(), "empty is fine");
    }

    #[test]
    fn copies_across_physically_split_pages() {
        let mut s = setup();
        let data: Vec<u8> = (0..100u8).collect();
        let out = s.writable(0x10fd0, 100).unwrap();
        s.copy_out(&out, &data);
        assert_eq!(&s.mem().page(0x8001_0000)[0xfd0..], &data[..48]);
        assert_eq!(&s.mem().page(0x8003_0000)[..52], &data[48..]);
        let mut back = vec![0u8; 100];
        s.copy_in(&out, &mut back);
        assert_eq!(back, data);
        let inp = s.readable(0x11000, 0x1000 + 16).unwrap();
        let mut again = vec![0u8; 0x1010];
        s.copy_in(&inp, &mut again);
        assert_eq!(&again[..52], &data[48..], "read-only pages are readable");
        assert!(s.writable(0x11fd0, 100).is_err(), "second page is read-only");
        assert_eq!(&s.mem().page(0x8003_0000)[0xfd0..0xfd8], &[0; 8], "nothing written");
    }

    #[test]
    fn parts_of_a_slice_stay_inside_it() {
        let mut s = setup();
        let w = s.writable(0x10ff0, 0x20).unwrap();
        let part = w.get(8..24).unwrap();
        assert_eq!((part.va(), part.len()), (0x10ff8, 16));
        assert_eq!(w.get(8..0x21), None);
        #[allow(clippy::reversed_empty_ranges)]
        let backwards = w.get(9..8);
        assert_eq!(backwards, None);
        assert_eq!(w.prefix(4).len(), 4);
        assert_eq!(w.prefix(1 << 40).len(), 0x20);
        s.copy_out(&part, &[7; 16]);
        assert_eq!(&s.mem().page(0x8001_0000)[0xff8..], &[7; 8]);
        assert_eq!(&s.mem().page(0x8003_0000)[..8], &[7; 8]);
    }

    #[test]
    #[should_panic(expected = "differ in length")]
    fn copy_needs_a_buffer_of_the_slice_length() {
        let mut s = setup();
        let r = s.readable(0x10000, 16).unwrap();
        s.copy_in(&r, &mut [0u8; 15]);
    }

    #[test]
    #[should_panic(expected = "after an unmap")]
    fn a_slice_checked_before_an_unmap_is_stale() {
        let mut s = setup();
        let w = s.writable(0x11000, 16).unwrap();
        assert_eq!(s.unmap_user(0x11000), Some(0x8003_0000));
        s.copy_out(&w, &[0; 16]);
    }

    #[test]
    fn unmap_user_leaves_kernel_pages_alone() {
        let mut s = setup();
        let before = s.readable(0x10000, 1).unwrap();
        assert_eq!(s.unmap_user(0x20000), None, "kernel page");
        assert_eq!(s.unmap_user(0x30000), None, "unmapped");
        let mut b = [0u8; 1];
        s.copy_in(&before, &mut b); // no unmap happened: still fresh
        assert!(s.translate(0x20000).is_some());
    }

    #[test]
    fn pages_shared_with_the_host_are_no_buffer_and_never_unmapped() {
        let mut s = setup();
        let mut alloc = || Some(0xb000_0000);
        let perms = flags::R | flags::W | flags::U | flags::SHARED;
        s.map(&mut alloc, 0x40000, 0x8009_0000, perms).unwrap();
        assert_eq!(s.translate(0x40000).map(|(_, f)| f & flags::SHARED), Some(flags::SHARED));
        assert!(s.readable(0x40000, 8).is_err(), "shared page as a buffer");
        assert!(s.writable(0x3fff8, 16).is_err(), "a buffer running into it");
        assert_eq!(s.unmap_user(0x40000), None);
        assert!(s.translate(0x40000).is_some());
    }
}

//! Eapp pointers: a system call may only name memory the eapp itself can
//! access (mapped with U, and W where the call writes), below USER_TOP.

use crate::pt::{flags, translate, PhysMem};
use crate::PAGE_SIZE;
use keystone_abi::eyrie::vm::USER_TOP;

/// How the runtime will touch the user buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// Whether every byte of `[va, va + len)` is eapp memory allowing `access`.
pub fn check(mem: &mut impl PhysMem, root: usize, va: usize, len: usize, access: Access) -> bool {
    if len == 0 {
        return true;
    }
    let end = match va.checked_add(len) {
        Some(e) if e <= USER_TOP => e,
        _ => return false,
    };
    let need = flags::V
        | flags::U
        | match access {
            Access::Read => flags::R,
            Access::Write => flags::W | flags::R,
        };
    let mut page = crate::page_down(va);
    while page < end {
        match translate(mem, root, page) {
            Some((_, f)) if f & need == need => {}
            _ => return false,
        }
        page += PAGE_SIZE;
    }
    true
}

/// Calls `f(pa, done, n)` for each physically contiguous piece of the user
/// range: `n` bytes at physical `pa` are bytes `done..done + n` of the
/// buffer. Checks the whole range first; false (and no call) if it fails.
pub fn for_each_chunk<M: PhysMem>(
    mem: &mut M,
    root: usize,
    va: usize,
    len: usize,
    access: Access,
    mut f: impl FnMut(&mut M, usize, usize, usize),
) -> bool {
    if !check(mem, root, va, len, access) {
        return false;
    }
    let mut done = 0;
    while done < len {
        let cur = va + done;
        let n = (PAGE_SIZE - cur % PAGE_SIZE).min(len - done);
        let (pa, _) = translate(mem, root, cur).expect("checked above");
        f(mem, pa, done, n);
        done += n;
    }
    true
}

/// Copies `dst.len()` bytes from eapp address `va`; false if not readable.
pub fn copy_in(mem: &mut impl PhysMem, root: usize, va: usize, dst: &mut [u8]) -> bool {
    for_each_chunk(mem, root, va, dst.len(), Access::Read, |m, pa, done, n| {
        let off = pa % PAGE_SIZE;
        dst[done..done + n].copy_from_slice(&m.page(crate::page_down(pa))[off..off + n]);
    })
}

/// Copies `src` to eapp address `va`; false if not writable.
pub fn copy_out(mem: &mut impl PhysMem, root: usize, va: usize, src: &[u8]) -> bool {
    for_each_chunk(mem, root, va, src.len(), Access::Write, |m, pa, done, n| {
        let off = pa % PAGE_SIZE;
        m.page(crate::page_down(pa))[off..off + n].copy_from_slice(&src[done..done + n]);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pt::{map, testmem::FakeMem};

    fn setup() -> (FakeMem, usize) {
        let mut mem = FakeMem::new(0x9000_0000);
        let root = mem.alloc();
        let mut next = 0xa000_0000;
        let mut alloc = || {
            next += PAGE_SIZE;
            Some(next)
        };
        // Two user RW pages at 0x10000, one user read-only page after them,
        // a kernel page at 0x20000.
        map(&mut mem, &mut alloc, root, 0x10000, 0x8001_0000, flags::R | flags::W | flags::U)
            .unwrap();
        map(&mut mem, &mut alloc, root, 0x11000, 0x8003_0000, flags::R | flags::W | flags::U)
            .unwrap();
        map(&mut mem, &mut alloc, root, 0x12000, 0x8005_0000, flags::R | flags::U).unwrap();
        map(&mut mem, &mut alloc, root, 0x20000, 0x8006_0000, flags::R | flags::W).unwrap();
        (mem, root)
    }

    #[test]
    fn checks_mapping_u_bit_write_and_bounds() {
        let (mut m, root) = setup();
        assert!(check(&mut m, root, 0x10000, 0x2000, Access::Write));
        assert!(check(&mut m, root, 0x10ff0, 0x2010, Access::Read));
        assert!(!check(&mut m, root, 0x10ff0, 0x2010, Access::Write), "read-only page");
        assert!(!check(&mut m, root, 0x12ff0, 0x20, Access::Read), "runs off the end");
        assert!(!check(&mut m, root, 0x20000, 1, Access::Read), "kernel page (no U)");
        assert!(!check(&mut m, root, 0xffff_ffff_c000_0000, 1, Access::Read));
        assert!(!check(&mut m, root, usize::MAX - 2, 8, Access::Read), "wraps");
        assert!(check(&mut m, root, 0xdead_0000, 0, Access::Write), "empty is fine");
    }

    #[test]
    fn copies_across_physically_split_pages() {
        let (mut m, root) = setup();
        let data: Vec<u8> = (0..100u8).collect();
        assert!(copy_out(&mut m, root, 0x10fd0, &data));
        assert_eq!(&m.page(0x8001_0000)[0xfd0..], &data[..48]);
        assert_eq!(&m.page(0x8003_0000)[..52], &data[48..]);
        let mut back = vec![0u8; 100];
        assert!(copy_in(&mut m, root, 0x10fd0, &mut back));
        assert_eq!(back, data);
        assert!(!copy_out(&mut m, root, 0x11fd0, &data), "second page is read-only");
        assert_eq!(&m.page(0x8003_0000)[0xfd0..0xfd8], &[0; 8], "nothing written on failure");
    }
}

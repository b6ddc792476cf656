//! Which ELF segments to load where: xmas-elf parses, this module validates
//! everything the (measured, but possibly malformed) file claims before the
//! loader or runtime copies a byte.

use xmas_elf::header::{Class, Machine};
use xmas_elf::program::Type;
use xmas_elf::ElfFile;

/// Most PT_LOAD segments accepted.
pub const MAX_SEGMENTS: usize = 8;

/// One PT_LOAD segment, checked: its file bytes are inside the file, its
/// addresses inside the allowed range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Segment {
    pub vaddr: usize,
    pub mem_size: usize,
    pub file_offset: usize,
    pub file_size: usize,
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

/// The loadable parts of an ELF file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub entry: usize,
    pub segments: [Segment; MAX_SEGMENTS],
    pub count: usize,
}

impl Plan {
    /// The segments in file order.
    pub fn segments(&self) -> &[Segment] {
        &self.segments[..self.count]
    }

    /// First address past the highest segment.
    pub fn end(&self) -> usize {
        self.segments().iter().map(|s| s.vaddr + s.mem_size).max().unwrap_or(0)
    }
}

/// Why a file was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElfError {
    /// xmas-elf could not parse the header.
    Parse(&'static str),
    /// Not a 64-bit RISC-V ELF.
    WrongKind,
    /// Program headers outside the file.
    BadHeaders,
    /// A segment's file bytes are outside the file or larger than its memory.
    BadSegment,
    /// A segment or the entry point is outside `[lo, hi)`.
    OutOfRange,
    /// More than MAX_SEGMENTS PT_LOAD segments, or none.
    SegmentCount,
}

/// Validates `file` and lists its PT_LOAD segments, which must lie in `[lo, hi)`
/// together with the entry point.
pub fn plan(file: &[u8], lo: usize, hi: usize) -> Result<Plan, ElfError> {
    let elf = ElfFile::new(file).map_err(ElfError::Parse)?;
    if elf.header.pt1.class() != Class::SixtyFour
        || elf.header.pt2.machine().as_machine() != Machine::RISC_V
    {
        return Err(ElfError::WrongKind);
    }
    let pt2 = &elf.header.pt2;
    let table_end = (pt2.ph_count() as usize)
        .checked_mul(pt2.ph_entry_size() as usize)
        .and_then(|n| n.checked_add(pt2.ph_offset() as usize));
    if pt2.ph_entry_size() != 56 || table_end.is_none_or(|e| e > file.len()) {
        return Err(ElfError::BadHeaders);
    }
    let mut plan =
        Plan { entry: pt2.entry_point() as usize, segments: Default::default(), count: 0 };
    for ph in elf.program_iter() {
        if ph.get_type() != Ok(Type::Load) || ph.mem_size() == 0 {
            continue;
        }
        let (off, fsz, va, msz) = (ph.offset(), ph.file_size(), ph.virtual_addr(), ph.mem_size());
        let file_end = off.checked_add(fsz).ok_or(ElfError::BadSegment)?;
        if file_end > file.len() as u64 || fsz > msz {
            return Err(ElfError::BadSegment);
        }
        let mem_end = va.checked_add(msz).ok_or(ElfError::OutOfRange)?;
        if va < lo as u64 || mem_end > hi as u64 {
            return Err(ElfError::OutOfRange);
        }
        if plan.count == MAX_SEGMENTS {
            return Err(ElfError::SegmentCount);
        }
        let f = ph.flags();
        plan.segments[plan.count] = Segment {
            vaddr: va as usize,
            mem_size: msz as usize,
            file_offset: off as usize,
            file_size: fsz as usize,
            read: f.is_read(),
            write: f.is_write(),
            exec: f.is_execute(),
        };
        plan.count += 1;
    }
    if plan.count == 0 {
        return Err(ElfError::SegmentCount);
    }
    if !plan
        .segments()
        .iter()
        .any(|s| s.exec && (s.vaddr..s.vaddr + s.mem_size).contains(&plan.entry))
    {
        return Err(ElfError::OutOfRange);
    }
    Ok(plan)
}

/// The bytes of page `page_va` that segment `s` takes from the file:
/// (offset in the page, range in the file). None if the page holds none.
pub fn file_bytes_in_page(s: &Segment, page_va: usize) -> Option<(usize, core::ops::Range<usize>)> {
    let lo = s.vaddr.max(page_va);
    let hi = (s.vaddr + s.file_size).min(page_va + crate::PAGE_SIZE);
    if lo >= hi {
        return None;
    }
    let start = s.file_offset + (lo - s.vaddr);
    Some((lo - page_va, start..start + (hi - lo)))
}

/// Whether page `page_va` of segment `idx` may be the file's own page
/// rather than a copy (Eyrie maps such pages in place too): the page holds
/// only this segment's file bytes, at the same offset in the page as in the
/// file, and no other segment reaches the same file page or the same
/// virtual page (so no two mappings or segments share one physical page).
/// Returns the file offset of the page, or None when it must be copied.
pub fn in_place_page(plan: &Plan, idx: usize, page_va: usize) -> Option<usize> {
    let segs = plan.segments();
    let s = segs.get(idx)?;
    if !page_va.is_multiple_of(crate::PAGE_SIZE)
        || s.vaddr % crate::PAGE_SIZE != s.file_offset % crate::PAGE_SIZE
        || page_va < s.vaddr
        || page_va + crate::PAGE_SIZE > s.vaddr + s.file_size
    {
        return None;
    }
    let off = s.file_offset + (page_va - s.vaddr);
    let touches = |lo: usize, len: usize, page: usize| {
        len > 0 && lo < page + crate::PAGE_SIZE && page < lo + len
    };
    let shared = segs.iter().enumerate().any(|(j, o)| {
        j != idx
            && (touches(o.file_offset, o.file_size, off) || touches(o.vaddr, o.mem_size, page_va))
    });
    (!shared).then_some(off)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF64 RISC-V file with the given (vaddr, filesz, memsz, flags) segments.
    fn elf(entry: u64, segs: &[(u64, u64, u64, u32)]) -> Vec<u8> {
        let mut f = vec![0u8; 64 + 56 * segs.len()];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2; // 64-bit
        f[5] = 1; // little endian
        f[6] = 1; // version
        f[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        f[18..20].copy_from_slice(&0xf3u16.to_le_bytes()); // RISC-V
        f[20..24].copy_from_slice(&1u32.to_le_bytes());
        f[24..32].copy_from_slice(&entry.to_le_bytes());
        f[32..40].copy_from_slice(&64u64.to_le_bytes()); // phoff
        f[52..54].copy_from_slice(&64u16.to_le_bytes());
        f[54..56].copy_from_slice(&56u16.to_le_bytes());
        f[56..58].copy_from_slice(&(segs.len() as u16).to_le_bytes());
        let mut data_off = f.len() as u64;
        for (i, &(va, fsz, msz, flags)) in segs.iter().enumerate() {
            let p = 64 + 56 * i;
            f[p..p + 4].copy_from_slice(&1u32.to_le_bytes());
            f[p + 4..p + 8].copy_from_slice(&flags.to_le_bytes());
            f[p + 8..p + 16].copy_from_slice(&data_off.to_le_bytes());
            f[p + 16..p + 24].copy_from_slice(&va.to_le_bytes());
            f[p + 32..p + 40].copy_from_slice(&fsz.to_le_bytes());
            f[p + 40..p + 48].copy_from_slice(&msz.to_le_bytes());
            data_off += fsz;
        }
        f.resize(data_off as usize, 0xab);
        f
    }

    #[test]
    fn plans_text_and_bss_segments() {
        let f = elf(0x10000, &[(0x10000, 0x100, 0x100, 5), (0x11000, 0x10, 0x2000, 6)]);
        let p = plan(&f, 0x1000, 0x40_0000_0000).unwrap();
        assert_eq!(p.entry, 0x10000);
        assert_eq!(p.count, 2);
        let s = p.segments()[1];
        assert!(s.read && s.write && !s.exec);
        assert_eq!((s.vaddr, s.mem_size, s.file_size), (0x11000, 0x2000, 0x10));
        assert_eq!(p.end(), 0x13000);
        assert_eq!(file_bytes_in_page(&s, 0x11000), Some((0, s.file_offset..s.file_offset + 0x10)));
        assert_eq!(file_bytes_in_page(&s, 0x12000), None);
    }

    #[test]
    fn refuses_lies_about_the_file() {
        assert!(matches!(plan(b"not an elf", 0, usize::MAX), Err(ElfError::Parse(_))));
        let mut f = elf(0x10000, &[(0x10000, 0x100, 0x100, 5)]);
        let filesz_too_big = {
            let mut g = f.clone();
            g[64 + 32..64 + 40].copy_from_slice(&0x10_0000u64.to_le_bytes());
            g
        };
        assert_eq!(plan(&filesz_too_big, 0, usize::MAX), Err(ElfError::BadSegment));
        let headers_outside = {
            let mut g = f.clone();
            g[32..40].copy_from_slice(&0xffff_fff0u64.to_le_bytes());
            g
        };
        assert_eq!(plan(&headers_outside, 0, usize::MAX), Err(ElfError::BadHeaders));
        f[18] = 0x3e; // x86-64
        assert_eq!(plan(&f, 0, usize::MAX), Err(ElfError::WrongKind));
    }

    #[test]
    fn refuses_addresses_outside_the_range() {
        let user = 0x40_0000_0000;
        let f = elf(0xffff_ffff_c000_0000, &[(0xffff_ffff_c000_0000, 0x10, 0x10, 5)]);
        assert_eq!(plan(&f, 0x1000, user), Err(ElfError::OutOfRange));
        let wrap = elf(0x10000, &[(0x10000, 0, u64::MAX, 5)]);
        assert_eq!(plan(&wrap, 0x1000, user), Err(ElfError::OutOfRange));
        let entry_outside = elf(0x90000, &[(0x10000, 0x10, 0x10, 5)]);
        assert_eq!(plan(&entry_outside, 0x1000, user), Err(ElfError::OutOfRange));
        let entry_not_exec = elf(0x10000, &[(0x10000, 0x10, 0x10, 6)]);
        assert_eq!(plan(&entry_not_exec, 0x1000, user), Err(ElfError::OutOfRange));
        let nine = elf(0x10000, &[(0x10000, 0x10, 0x10, 5); 9]);
        assert_eq!(plan(&nine, 0x1000, user), Err(ElfError::SegmentCount));
    }
    #[test]
    fn whole_file_pages_of_one_segment_map_in_place() {
        // glibc's static layout: text from file 0, data at file 0x60dc0 /
        // va 0x71dc0 sharing text's last file page, then bss.
        let mut f = elf(0x10000, &[(0x10000, 0x60534, 0x60534, 5), (0x71dc0, 0x5600, 0xaab8, 6)]);
        f[64 + 8..64 + 16].copy_from_slice(&0u64.to_le_bytes());
        f[64 + 56 + 8..64 + 56 + 16].copy_from_slice(&0x60dc0u64.to_le_bytes());
        f.resize(0x60dc0 + 0x5600, 0);
        let p = plan(&f, 0x1000, 0x40_0000_0000).unwrap();
        assert_eq!(in_place_page(&p, 0, 0x10000), Some(0));
        assert_eq!(in_place_page(&p, 0, 0x6f000), Some(0x5f000));
        assert_eq!(in_place_page(&p, 0, 0x70000), None, "partial last text page");
        assert_eq!(in_place_page(&p, 1, 0x71000), None, "starts mid-page");
        assert_eq!(in_place_page(&p, 1, 0x72000), Some(0x61000));
        assert_eq!(in_place_page(&p, 1, 0x76000), Some(0x65000));
        assert_eq!(in_place_page(&p, 1, 0x77000), None, "file bytes end mid-page");
        assert_eq!(in_place_page(&p, 1, 0x78000), None, "bss");
        assert_eq!(in_place_page(&p, 1, 0x72800), None, "unaligned");
        assert_eq!(in_place_page(&p, 2, 0x10000), None, "no such segment");
    }

    #[test]
    fn pages_two_segments_share_are_copied() {
        // Two segments over the same file bytes (a writable alias of text).
        let mut g = elf(0x10000, &[(0x10000, 0x2000, 0x2000, 5), (0x40000, 0x2000, 0x2000, 6)]);
        g[64 + 8..64 + 16].copy_from_slice(&0u64.to_le_bytes());
        g[64 + 56 + 8..64 + 56 + 16].copy_from_slice(&0u64.to_le_bytes());
        let p = plan(&g, 0x1000, 0x40_0000_0000).unwrap();
        assert_eq!(in_place_page(&p, 0, 0x10000), None, "file page also data's");
        assert_eq!(in_place_page(&p, 1, 0x41000), None);
        // Overlapping virtual pages, distinct file pages.
        let mut h = elf(0x10000, &[(0x10000, 0x1000, 0x1000, 5), (0x10800, 0x100, 0x100, 6)]);
        h[64 + 8..64 + 16].copy_from_slice(&0u64.to_le_bytes());
        h[64 + 56 + 8..64 + 56 + 16].copy_from_slice(&0x1800u64.to_le_bytes());
        h.resize(0x2000, 0);
        let p = plan(&h, 0x1000, 0x40_0000_0000).unwrap();
        assert_eq!(in_place_page(&p, 0, 0x10000), None, "data lands on the same page");
    }
}

//! A precomputed set of PMP register writes: the entries of one or more
//! regions folded into address writes plus one masked update per pmpcfg
//! register, so a world switch writes a handful of CSRs and nothing is
//! looked up on its path.

use crate::pmp::cfg_location;
use crate::pmp_alloc::Entry;

/// Most entries a view holds: two regions of up to two entries (TOR) each.
pub const MAX_ENTRIES: usize = 4;

/// pmpaddr writes and the pmpcfg0/pmpcfg2 bytes they come with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PmpView {
    /// (entry index, pmpaddr value), `len` of them.
    pub addrs: [(usize, usize); MAX_ENTRIES],
    pub len: usize,
    /// Bits of pmpcfg0 / pmpcfg2 the view replaces.
    pub cfg_clear: [usize; 2],
    /// Their new values.
    pub cfg_set: [usize; 2],
}

impl PmpView {
    /// No writes at all.
    pub const EMPTY: Self =
        Self { addrs: [(0, 0); MAX_ENTRIES], len: 0, cfg_clear: [0; 2], cfg_set: [0; 2] };

    /// The view that programs `entries` (later entries win on the same index).
    /// None if there are more than `MAX_ENTRIES`.
    pub fn new(entries: impl IntoIterator<Item = Entry>) -> Option<Self> {
        let mut v = Self::EMPTY;
        for e in entries {
            if let Some(slot) = v.addrs[..v.len].iter_mut().find(|(i, _)| *i == e.index) {
                slot.1 = e.addr;
            } else {
                if v.len == MAX_ENTRIES {
                    return None;
                }
                v.addrs[v.len] = (e.index, e.addr);
                v.len += 1;
            }
            let (reg, shift) = cfg_location(e.index);
            let r = reg / 2;
            v.cfg_clear[r] |= 0xff << shift;
            v.cfg_set[r] = (v.cfg_set[r] & !(0xff << shift)) | ((e.cfg as usize) << shift);
        }
        Some(v)
    }

    /// The writes that take a hart from `from` (already programmed) to `to`:
    /// `to`'s configuration bytes, and only the addresses that differ. None
    /// if `to` has more than `MAX_ENTRIES` entries.
    pub fn transition(from: &[Entry], to: impl IntoIterator<Item = Entry>) -> Option<Self> {
        let mut v = Self::new(to)?;
        let mut kept = 0;
        for i in 0..v.len {
            let (index, addr) = v.addrs[i];
            if !from.iter().any(|e| e.index == index && e.addr == addr) {
                v.addrs[kept] = (index, addr);
                kept += 1;
            }
        }
        for slot in &mut v.addrs[kept..] {
            *slot = (0, 0);
        }
        v.len = kept;
        Some(v)
    }

    /// pmpcfg register `r` (0 or 1 for pmpcfg0/pmpcfg2) after the view.
    pub fn cfg(&self, r: usize, old: usize) -> usize {
        (old & !self.cfg_clear[r]) | self.cfg_set[r]
    }

    /// True when the view changes pmpcfg register `r` at all.
    pub fn touches_cfg(&self, r: usize) -> bool {
        self.cfg_clear[r] != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pmp::cfg_replace;

    fn e(index: usize, addr: usize, cfg: u8) -> Entry {
        Entry { index, addr, cfg }
    }

    /// Applying the entries one at a time, as the hart would without a view.
    fn one_by_one(entries: &[Entry], mut cfg: [usize; 2]) -> ([usize; 2], Vec<(usize, usize)>) {
        let mut addrs = Vec::new();
        for x in entries {
            let (reg, shift) = cfg_location(x.index);
            cfg[reg / 2] = cfg_replace(cfg[reg / 2], shift, x.cfg);
            addrs.retain(|(i, _)| *i != x.index);
            addrs.push((x.index, x.addr));
        }
        (cfg, addrs)
    }

    #[test]
    fn a_view_writes_what_the_entries_write_one_by_one() {
        let cases: [&[Entry]; 4] = [
            &[e(3, 0x2000_0fff, 0x1f), e(15, 0x2100_01ff, 0x1f)],
            &[e(8, 0x2000_0000, 0), e(9, 0x2400_0000, 0x0f), e(15, usize::MAX, 0x1f)],
            &[e(7, 1, 0x18), e(8, 2, 0x1b)],
            &[e(4, 5, 0x1f), e(4, 6, 0x00)],
        ];
        for entries in cases {
            for old in
                [[0usize; 2], [usize::MAX; 2], [0x1f1f_0000_8080_1f00, 0x0f00_1800_0000_ff1f]]
            {
                let v = PmpView::new(entries.iter().copied()).unwrap();
                let (cfg, mut addrs) = one_by_one(entries, old);
                assert_eq!([v.cfg(0, old[0]), v.cfg(1, old[1])], cfg);
                let mut got = v.addrs[..v.len].to_vec();
                got.sort();
                addrs.sort();
                assert_eq!(got, addrs);
            }
        }
    }

    #[test]
    fn a_transition_reaches_the_same_registers_as_the_whole_view() {
        let host = [e(3, 0x2000_0fff, 0x18), e(15, usize::MAX, 0x1f)];
        let enclave = [e(3, 0x2000_0fff, 0x1f), e(15, 0x2100_01ff, 0x1f)];
        let enter = PmpView::transition(&host, enclave).unwrap();
        assert_eq!(enter.len, 1, "the EPM's address is already programmed");
        assert_eq!(enter.addrs[0], (15, 0x2100_01ff));
        let whole = PmpView::new(enclave).unwrap();
        for old in [[0usize; 2], [usize::MAX; 2]] {
            let (cfg, _) = one_by_one(&host, old);
            assert_eq!(
                [enter.cfg(0, cfg[0]), enter.cfg(1, cfg[1])],
                [whole.cfg(0, cfg[0]), whole.cfg(1, cfg[1])]
            );
        }
        let leave = PmpView::transition(&enclave, host).unwrap();
        assert_eq!(&leave.addrs[..leave.len], &[(15, usize::MAX)]);
    }

    #[test]
    fn a_view_of_too_many_entries_is_refused() {
        assert!(PmpView::new((0..5).map(|i| e(i, i, 0))).is_none());
        assert!(PmpView::new((0..4).map(|i| e(i, i, 0))).is_some());
    }

    #[test]
    fn a_view_leaves_other_cfg_bytes_and_registers_alone() {
        let v = PmpView::new([e(1, 7, 0x1f)]).unwrap();
        assert!(v.touches_cfg(0));
        assert!(!v.touches_cfg(1));
        assert_eq!(v.cfg(0, 0xaaaa_aaaa_aaaa_aaaa), 0xaaaa_aaaa_aaaa_1faa);
        assert_eq!(v.cfg(1, 0x1234), 0x1234);
    }
}

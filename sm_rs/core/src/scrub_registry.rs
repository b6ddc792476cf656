//! Nothing survives a reset: the registry of live enclave memory.
//!
//! The SM records every live enclave's EPM in one page of its own region that
//! the firmware image does not cover and boot does not clear (QEMU reloads
//! only the image on reset, and keeps DRAM). Whatever reset the machine
//! (SBI SRST, a watchdog, a panic, a reset device S-mode should not reach),
//! the next boot of the SM finds the registry, scrubs every range in it
//! before any hart leaves M-mode, keeping nothing (`boot_images`), and
//! clears it. S-mode can neither read nor
//! forge the page (PMP closes the SM's region). The registry is checked with
//! a magic and a checksum, so the random contents of DRAM at a true power-on
//! are ignored. Pure: the layout and its check are host-tested.

/// Enclave ranges the registry holds (one per enclave slot).
pub const ENTRIES: usize = keystone_abi::sm::ENCLAVES_MAX;
const MAGIC: u64 = 0x4b53_5343_5255_4231; // "KSSCRUB1"

/// The registry page's contents.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Registry {
    magic: u64,
    /// (base, size) of each live EPM; size 0 marks a free entry.
    ranges: [(u64, u64); ENTRIES],
    check: u64,
}

/// FNV-1a over the magic and the ranges: enough to tell a written registry
/// from leftover DRAM noise (S-mode cannot write the page at all).
const fn checksum(magic: u64, ranges: &[(u64, u64); ENTRIES]) -> u64 {
    const fn eat(mut h: u64, w: u64) -> u64 {
        let bytes = w.to_le_bytes();
        let mut b = 0;
        while b < 8 {
            h ^= bytes[b] as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
            b += 1;
        }
        h
    }
    let mut h = eat(0xcbf2_9ce4_8422_2325, magic);
    let mut i = 0;
    while i < ENTRIES {
        h = eat(h, ranges[i].0);
        h = eat(h, ranges[i].1);
        i += 1;
    }
    h
}

/// The registry's size in 64-bit words (its page layout).
pub const WORDS: usize = 2 + 2 * ENTRIES;

impl Registry {
    /// The page's words, in memory order (magic, ranges, check).
    pub fn to_words(&self) -> [u64; WORDS] {
        let mut w = [0u64; WORDS];
        w[0] = self.magic;
        for (i, &(b, s)) in self.ranges.iter().enumerate() {
            w[1 + 2 * i] = b;
            w[2 + 2 * i] = s;
        }
        w[WORDS - 1] = self.check;
        w
    }

    /// Reads a registry from the page's words, whatever they hold.
    pub fn from_words(w: [u64; WORDS]) -> Self {
        let mut ranges = [(0, 0); ENTRIES];
        for (i, r) in ranges.iter_mut().enumerate() {
            *r = (w[1 + 2 * i], w[2 + 2 * i]);
        }
        Self { magic: w[0], ranges, check: w[WORDS - 1] }
    }

    /// A valid registry with nothing live.
    pub const fn empty() -> Self {
        Self { magic: 0, ranges: [(0, 0); ENTRIES], check: 0 }.sealed()
    }

    const fn sealed(mut self) -> Self {
        self.magic = MAGIC;
        self.check = checksum(MAGIC, &self.ranges);
        self
    }

    /// True when these bytes were written by `add`/`remove`/`empty`.
    pub fn is_valid(&self) -> bool {
        self.magic == MAGIC && self.check == checksum(self.magic, &self.ranges)
    }

    /// The live ranges, (base, size).
    pub fn live(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.ranges.iter().copied().filter(|&(_, s)| s != 0)
    }

    /// Records a live EPM; false when the registry is full.
    pub fn add(&mut self, base: u64, size: u64) -> bool {
        let Some(slot) = self.ranges.iter_mut().find(|r| r.1 == 0) else { return false };
        *slot = (base, size);
        *self = self.sealed();
        true
    }

    /// Forgets a scrubbed EPM.
    pub fn remove(&mut self, base: u64, size: u64) {
        for r in self.ranges.iter_mut().filter(|r| **r == (base, size)) {
            *r = (0, 0);
        }
        *self = self.sealed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_valid_and_holds_nothing() {
        let r = Registry::empty();
        assert!(r.is_valid());
        assert_eq!(r.live().count(), 0);
    }

    #[test]
    fn add_and_remove_keep_it_valid() {
        let mut r = Registry::empty();
        assert!(r.add(0x8100_0000, 0x10_0000));
        assert!(r.add(0x8200_0000, 0x2000));
        assert!(r.is_valid());
        assert_eq!(
            r.live().collect::<Vec<_>>(),
            vec![(0x8100_0000, 0x10_0000), (0x8200_0000, 0x2000)]
        );
        r.remove(0x8100_0000, 0x10_0000);
        assert!(r.is_valid());
        assert_eq!(r.live().collect::<Vec<_>>(), vec![(0x8200_0000, 0x2000)]);
    }

    #[test]
    fn a_full_registry_refuses_more() {
        let mut r = Registry::empty();
        for i in 0..ENTRIES as u64 {
            assert!(r.add(0x8100_0000 + i * 0x1000, 0x1000));
        }
        assert!(!r.add(0x9000_0000, 0x1000));
    }

    #[test]
    fn noise_is_not_a_registry() {
        let mut r = Registry::empty();
        r.add(0x8100_0000, 0x1000);
        // Any single flipped bit (as random DRAM would be) is refused.
        let words = r.to_words();
        for w in 0..words.len() {
            for bit in [0, 17, 63] {
                let mut noisy = words;
                noisy[w] ^= 1 << bit;
                assert!(!Registry::from_words(noisy).is_valid(), "word {w} bit {bit}");
            }
        }
        assert!(!Registry::from_words([0; WORDS]).is_valid());
    }
}

//! The images the boot loader places in DRAM (S-mode kernel, initrd, device
//! tree), and the two rules the SM applies to them so that no enclave byte
//! survives a reset the SM does not see (a watchdog, a reset button, QEMU's
//! `system_reset`):
//!
//! * the boot scrub keeps nothing: it zeroes every range the registry lists,
//!   whatever a kernel header claims. When a zeroed range may overlap an image
//!   the loader placed for this boot, the SM resets the machine once more (the
//!   registry now empty) so that the loader places clean images;
//! * CREATE refuses an EPM that overlaps the kernel's footprint or the device
//!   tree as this boot computed them: S-mode never owns those bytes as free
//!   memory, so an honest host never asks, and the boot scrub never has to
//!   touch them after the next reset of the same images.
//!
//! A kernel's footprint is its RISC-V Image header's `image_size` (the file
//! plus its .bss: a claim, used only to refuse); without a header it is
//! unknown, and any boot-scrubbed byte at or above the kernel's base counts
//! as overlapping. The initrd is not refused at CREATE: Linux frees it after
//! unpacking and may hand its pages out, and a scrub that hits it resets again.

use crate::pmp::Range;

/// Where a RISC-V Image header keeps its magic ("RSC\x05", v0.2+).
const MAGIC2_AT: usize = 0x38;
/// Where it keeps the image size (little-endian u64).
const SIZE_AT: usize = 16;

/// The kernel's footprint claimed by the RISC-V Image header in `header`
/// (its first 64 bytes, loaded at `base`); `None` without a valid header or
/// for a claim that wraps.
pub fn kernel_footprint(base: usize, header: &[u8; 64]) -> Option<Range> {
    if &header[MAGIC2_AT..MAGIC2_AT + 4] != b"RSC\x05" {
        return None;
    }
    let mut size = [0u8; 8];
    size.copy_from_slice(&header[SIZE_AT..SIZE_AT + 8]);
    let size = usize::try_from(u64::from_le_bytes(size)).ok()?;
    base.checked_add(size)?;
    Some(Range { base, size })
}

/// The images of one boot, as the SM computed them before S-mode ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootImages {
    /// Where the kernel was placed.
    pub kernel_base: usize,
    /// Its header's footprint; `None` when it has no RISC-V Image header.
    pub kernel: Option<Range>,
    /// The initrd (`linux,initrd-start/end`), if any.
    pub initrd: Option<Range>,
    /// The device tree blob (its header's totalsize).
    pub dtb: Range,
}

impl BootImages {
    /// True when CREATE must refuse `epm`: it overlaps the kernel's claimed
    /// footprint or the device tree.
    pub fn refuses_epm(&self, epm: &Range) -> bool {
        self.kernel.is_some_and(|k| k.size != 0 && k.overlaps(epm)) || self.dtb.overlaps(epm)
    }

    /// True when zeroing `range` at boot may have hit bytes the loader placed
    /// for this boot (so the machine must be reset once more).
    pub fn scrub_hits(&self, range: &Range) -> bool {
        if range.size == 0 {
            return false;
        }
        let kernel = match self.kernel {
            Some(k) => k.size != 0 && k.overlaps(range),
            None => range.end() > self.kernel_base,
        };
        kernel
            || self.initrd.is_some_and(|i| i.size != 0 && i.overlaps(range))
            || self.dtb.overlaps(range)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(size: u64, magic: &[u8; 4]) -> [u8; 64] {
        let mut h = [0u8; 64];
        h[16..24].copy_from_slice(&size.to_le_bytes());
        h[0x30..0x38].copy_from_slice(b"RISCV\0\0\0");
        h[0x38..0x3c].copy_from_slice(magic);
        h
    }

    const BASE: usize = 0x8020_0000;

    fn images(kernel: Option<Range>) -> BootImages {
        BootImages {
            kernel_base: BASE,
            kernel,
            initrd: Some(Range { base: 0x8800_0000, size: 0x20_0000 }),
            dtb: Range { base: 0x8fe0_0000, size: 0x2000 },
        }
    }

    #[test]
    fn footprint_is_the_header_claim() {
        let k = kernel_footprint(BASE, &header(0x2de000, b"RSC\x05")).unwrap();
        assert_eq!(k, Range { base: BASE, size: 0x2de000 });
        assert_eq!(kernel_footprint(BASE, &header(0x2de000, b"RSC\x04")), None);
        assert_eq!(kernel_footprint(BASE, &header(u64::MAX, b"RSC\x05")), None);
    }

    #[test]
    fn create_refuses_an_epm_inside_a_huge_claim_or_the_dtb() {
        let huge = images(kernel_footprint(BASE, &header(256 << 20, b"RSC\x05")));
        assert!(huge.refuses_epm(&Range { base: 0x8100_0000, size: 0x1_0000 }));
        let honest = images(kernel_footprint(BASE, &header(0x30_0000, b"RSC\x05")));
        assert!(!honest.refuses_epm(&Range { base: 0x8100_0000, size: 0x1_0000 }));
        assert!(honest.refuses_epm(&Range { base: 0x8040_0000, size: 0x1_0000 }));
        assert!(honest.refuses_epm(&Range { base: 0x8fdf_f000, size: 0x2000 }));
        // The initrd is freed by Linux after unpacking: not refused.
        assert!(!honest.refuses_epm(&Range { base: 0x8800_0000, size: 0x1000 }));
        assert!(!images(None).refuses_epm(&Range { base: 0x8100_0000, size: 0x1000 }));
    }

    #[test]
    fn a_scrub_over_any_image_means_one_more_reset() {
        let honest = images(kernel_footprint(BASE, &header(0x30_0000, b"RSC\x05")));
        assert!(!honest.scrub_hits(&Range { base: 0x8100_0000, size: 0x1_0000 }));
        assert!(honest.scrub_hits(&Range { base: 0x8040_0000, size: 0x1000 }));
        assert!(honest.scrub_hits(&Range { base: 0x8810_0000, size: 0x1000 }));
        assert!(honest.scrub_hits(&Range { base: 0x8fe0_1000, size: 0x1000 }));
        // Without a header the kernel's extent is unknown: anything above its base.
        assert!(images(None).scrub_hits(&Range { base: 0x8100_0000, size: 0x1000 }));
        assert!(!images(None).scrub_hits(&Range { base: 0x8000_0000, size: 0x1000 }));
        assert!(!honest.scrub_hits(&Range { base: 0x8100_0000, size: 0 }));
    }
}

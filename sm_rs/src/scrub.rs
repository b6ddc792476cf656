//! Every reset path scrubs: the firmware side of `sm_core::scrub_registry`.
//!
//! CREATE records the EPM before the enclave first runs, DESTROY forgets it
//! after the scrub. SBI SRST (reboot or shutdown) holds every other hart in
//! M-mode (`quiesce`), then scrubs every live EPM before the machine goes
//! down; the registry stays valid until that scrub is done. Any other reset
//! (watchdog, panic, reset button) is caught at the next boot, which scrubs
//! what the registry still lists before any hart leaves M-mode, keeping
//! nothing (`sm_core::boot_images`).

use crate::platform::Platform;
use keystone_abi::layout::{PAYLOAD_BASE, SM_BASE, SM_SIZE};
use sm_core::boot_images::{kernel_footprint, BootImages};
use sm_core::pmp::Range;
use sm_core::scrub_registry::Registry;
use sm_hal::phys::{self, PhysRange};
use sm_hal::smmem;
use spin::Mutex;

/// The registry lives in `sm_hal::smmem::REGISTRY_PAGE`, inside the SM's
/// PMP-closed region.
static LOCK: Mutex<()> = Mutex::new(());

fn read() -> Registry {
    smmem::read_scrub_registry()
}

/// The record is in memory before the enclave can hold secrets (the hal
/// fences after the store).
fn write(r: &Registry) {
    smmem::write_scrub_registry(r);
}

fn zero(base: u64, size: u64) {
    // Callers pass ranges inside DRAM and outside the SM (checked).
    match PhysRange::new(base as usize, size as usize) {
        Some(range) => phys::zero(range),
        None => panic!("scrub of {base:#x}+{size:#x} refused: empty or in the SM"),
    }
}

/// Records a live EPM; false when the registry is full (CREATE then fails).
pub fn register(epm: Range) -> bool {
    let _g = LOCK.lock();
    let mut r = read();
    if !r.is_valid() {
        r = Registry::empty();
    }
    let ok = r.add(epm.base as u64, epm.size as u64);
    write(&r);
    ok
}

/// Forgets an EPM that DESTROY has scrubbed.
pub fn unregister(epm: Range) {
    let _g = LOCK.lock();
    let mut r = read();
    if r.is_valid() {
        r.remove(epm.base as u64, epm.size as u64);
        write(&r);
    }
}

/// SRST, with every other hart held: zero every live EPM now, before the
/// machine resets or powers off. The registry is emptied only after the
/// scrub, so a reset that cuts it short is still caught at the next boot.
pub fn scrub_live() -> usize {
    let _g = LOCK.lock();
    scrub_registered().1
}

/// A panic with every other hart held: the SRST scrub, unless the panic
/// came from inside the registry's lock (the next boot scrubs then).
pub fn scrub_live_on_panic() -> Option<usize> {
    let _g = LOCK.try_lock()?;
    Some(scrub_registered().1)
}

/// Zeroes every range the registry lists, then empties it; (ranges, bytes).
fn scrub_registered() -> (usize, usize) {
    let r = read();
    let (mut ranges, mut bytes) = (0, 0);
    if r.is_valid() {
        for (base, size) in r.live() {
            if allowed(base, size) {
                zero(base, size);
                ranges += 1;
                bytes += size as usize;
            }
        }
    }
    write(&Registry::empty());
    (ranges, bytes)
}

/// Only DRAM outside the SM is ever scrubbed, whatever the page says.
fn allowed(base: u64, size: u64) -> bool {
    let Ok(range) = Range::new(base as usize, size as usize) else { return false };
    crate::platform::get().dram.iter().flatten().any(|b| b.contains(&range))
        && !range.overlaps(&Range { base: SM_BASE, size: SM_SIZE })
}

/// The images the loader placed for this boot, computed once before S-mode runs.
static IMAGES: spin::Once<BootImages> = spin::Once::new();

/// The kernel's Image header claim, the initrd and the device tree of this boot.
fn boot_images(p: &Platform) -> BootImages {
    // PAYLOAD_BASE is DRAM, right above the SM; the Image header is 64 bytes.
    let mut header = [0u8; 64];
    phys::read_into(PhysRange::new(PAYLOAD_BASE, header.len()).expect("above the SM"), &mut header);
    let dtb_size = crate::platform::tree_size(p.dtb).expect("the platform parsed this tree");
    BootImages {
        kernel_base: PAYLOAD_BASE,
        kernel: kernel_footprint(PAYLOAD_BASE, &header),
        initrd: p.initrd,
        dtb: Range { base: p.dtb, size: dtb_size },
    }
}

/// True when CREATE must refuse `epm`: it overlaps this boot's kernel
/// footprint or device tree (`BootImages::refuses_epm`). The tree is taken
/// at the size it has now (the SM's patch grew it), at most the SM's
/// patch buffer.
pub fn refuses_epm(epm: &Range) -> bool {
    let Some(mut images) = IMAGES.get().copied() else { return false };
    let now = crate::platform::tree_size(images.dtb.base).unwrap_or(0);
    images.dtb.size = images.dtb.size.max(now.min(crate::dtb::SCRATCH));
    images.refuses_epm(epm)
}

/// What the boot scrub did.
pub struct BootScrub {
    pub ranges: usize,
    pub bytes: usize,
    /// A zeroed range may overlap an image the loader placed for this boot:
    /// the machine must be reset once more so the loader places it again.
    pub hit_images: bool,
}

/// Boot: scrub whatever a reset the SM did not see left live, keeping
/// nothing. Runs on the boot hart before any hart leaves M-mode.
pub fn at_boot(p: &Platform) -> BootScrub {
    let images = *IMAGES.call_once(|| boot_images(p));
    let r = read();
    let hit_images = r.is_valid()
        && r.live().any(|(b, s)| {
            allowed(b, s) && images.scrub_hits(&Range { base: b as usize, size: s as usize })
        });
    let (ranges, bytes) = scrub_registered();
    BootScrub { ranges, bytes, hit_images }
}

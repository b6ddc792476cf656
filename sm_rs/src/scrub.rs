//! Every reset path scrubs: the firmware side of `sm_core::scrub_registry`.
//!
//! CREATE records the EPM before the enclave first runs, DESTROY forgets it
//! after the scrub. SBI SRST (reboot or shutdown) scrubs every live EPM
//! before the machine goes down; any other reset (watchdog, panic) is caught
//! at the next boot, which scrubs what the registry still lists before any
//! hart leaves M-mode.

use crate::platform::Platform;
use keystone_abi::layout::{PAYLOAD_BASE, SM_BASE, SM_SIZE};
use sm_core::pmp::Range;
use sm_core::scrub_registry::{outside, Registry};
use spin::Mutex;

/// The registry's page: inside the SM's PMP-closed region, above the image,
/// .bss and stacks (link.ld keeps them below it), below the device-secret page.
const PAGE: usize = SM_BASE + SM_SIZE - 2 * 4096;
static LOCK: Mutex<()> = Mutex::new(());

fn read() -> Registry {
    // SAFETY: PAGE is the SM's own memory, never written by anything else
    // (PMP closes it to S/U); any bit pattern is a Registry (all u64 words).
    unsafe { (PAGE as *const Registry).read_volatile() }
}

fn write(r: &Registry) {
    // SAFETY: as in `read`.
    unsafe { (PAGE as *mut Registry).write_volatile(*r) };
    // The record must be in memory before the enclave can hold secrets.
    core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
}

fn zero(base: u64, size: u64) {
    // SAFETY: callers pass ranges inside DRAM and outside the SM (checked).
    unsafe { core::ptr::write_bytes(base as usize as *mut u8, 0, size as usize) };
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

/// SRST: zero every live EPM now, before the machine resets or powers off.
pub fn scrub_live() -> usize {
    let _g = LOCK.lock();
    let r = read();
    let mut bytes = 0;
    if r.is_valid() {
        for (base, size) in r.live() {
            if allowed(base, size) {
                zero(base, size);
                bytes += size as usize;
            }
        }
    }
    write(&Registry::empty());
    bytes
}

/// Only DRAM outside the SM is ever scrubbed, whatever the page says.
fn allowed(base: u64, size: u64) -> bool {
    let Ok(range) = Range::new(base as usize, size as usize) else { return false };
    crate::platform::get().dram.iter().flatten().any(|b| b.contains(&range))
        && !range.overlaps(&Range { base: SM_BASE, size: SM_SIZE })
}

/// The images QEMU loads again on every reset: the S-mode kernel (its
/// header's image size when it is a RISC-V Linux Image, else nothing), the
/// initrd and the device tree.
fn reloaded_images(p: &Platform) -> [(u64, u64); 3] {
    // SAFETY: PAYLOAD_BASE is DRAM; the Image header is 64 bytes.
    let header = unsafe { core::slice::from_raw_parts(PAYLOAD_BASE as *const u8, 64) };
    let kernel = if &header[0x38..0x3c] == b"RSC\x05" {
        let size = u64::from_le_bytes(header[16..24].try_into().expect("8 bytes"));
        (PAYLOAD_BASE as u64, size)
    } else {
        (0, 0)
    };
    // SAFETY: bytes 4..8 of a valid tree (the platform parsed it) hold its size.
    let dtb_size = u32::from_be(unsafe { ((p.dtb + 4) as *const u32).read_volatile() }) as u64;
    [kernel, p.initrd.map_or((0, 0), |r| (r.base as u64, r.size as u64)), (p.dtb as u64, dtb_size)]
}

/// Boot: scrub whatever a reset the SM did not see left live. Returns
/// (ranges, bytes zeroed). Runs on the boot hart before any hart leaves M-mode.
pub fn at_boot(p: &Platform) -> (usize, usize) {
    let r = read();
    let (mut ranges, mut bytes) = (0, 0);
    if r.is_valid() {
        let keep = reloaded_images(p);
        for (base, size) in r.live() {
            if !allowed(base, size) {
                continue;
            }
            ranges += 1;
            for (b, s) in outside(base, size, &keep).into_iter().filter(|piece| piece.1 != 0) {
                zero(b, s);
                bytes += s as usize;
            }
        }
    }
    write(&Registry::empty());
    (ranges, bytes)
}

//! The SM's own pages, which only the SM may touch: its loaded image (hashed
//! at boot), the device-secret page and the scrub registry's page. PMP keeps
//! all of them closed to S/U-mode.

use keystone_abi::layout::{SM_BASE, SM_SIZE};
use keystone_abi::sm::DEVICE_SECRET_ADDR;
use sm_core::scrub_registry::Registry;

unsafe extern "C" {
    /// End of the loaded image (text, rodata, data), from link.ld.
    static __sm_image_end: u8;
}

/// The scrub registry's page: inside the SM's region, above the image,
/// .bss and stacks (link.ld keeps them below it), below the device-secret page.
pub const REGISTRY_PAGE: usize = SM_BASE + SM_SIZE - 2 * 4096;

/// Bytes of the device-secret page the boot stage reads: an 8-byte magic,
/// then a 32-byte seed or a 64-byte expanded key and its 32-byte public key.
pub const DEVICE_KEY_BYTES: usize = 8 + 96;

/// Lends the SM's loaded image, `[SM_BASE, __sm_image_end)`, to `f`, before
/// any hart has left M-mode (the boot stage hashes it). Panics after boot.
pub fn with_boot_image<R>(f: impl FnOnce(&[u8]) -> R) -> R {
    assert!(crate::phys::before_lower_privilege(), "image read after boot");
    let end = core::ptr::addr_of!(__sm_image_end) as usize;
    // SAFETY: [SM_BASE, __sm_image_end) is the loaded image; only the boot
    // hart runs, and `f` (a hash) writes no static of the image's .data
    // while it holds the borrow.
    f(unsafe { core::slice::from_raw_parts(SM_BASE as *const u8, end - SM_BASE) })
}

/// Copies the device-secret page's first bytes (magic and key material).
pub fn read_device_key_page() -> [u8; DEVICE_KEY_BYTES] {
    // SAFETY: the last page of the SM region is reserved for the device key
    // (link.ld keeps the SM below it); nothing else lives there.
    unsafe { (DEVICE_SECRET_ADDR as *const [u8; DEVICE_KEY_BYTES]).read_volatile() }
}

/// Wipes the whole device-secret page (after the boot stage read it).
pub fn wipe_device_key_page() {
    // SAFETY: as in `read_device_key_page`; the page is 4 KiB.
    unsafe { core::ptr::write_bytes(DEVICE_SECRET_ADDR as *mut u8, 0, 0x1000) };
}

/// The scrub registry as its page holds it (any bit pattern is a Registry:
/// all u64 words; `Registry::is_valid` says whether it is one).
pub fn read_scrub_registry() -> Registry {
    // SAFETY: REGISTRY_PAGE is the SM's own memory, never written by anything
    // else (PMP closes it to S/U), and large enough for a Registry.
    unsafe { (REGISTRY_PAGE as *const Registry).read_volatile() }
}

/// Stores the scrub registry in its page, then a full fence: the record is
/// in memory before the caller goes on (an enclave may hold secrets next).
pub fn write_scrub_registry(r: &Registry) {
    // SAFETY: as in `read_scrub_registry`.
    unsafe { (REGISTRY_PAGE as *mut Registry).write_volatile(*r) };
    core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
}

const _: () = assert!(core::mem::size_of::<Registry>() <= 4096);

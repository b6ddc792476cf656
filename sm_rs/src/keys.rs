//! The boot stage: measure the SM image, derive the SM's key pair from the
//! device secret and that measurement, have the device key sign
//! (SM hash ‖ SM public key), and wipe the device secret.
//!
//! It runs on hart 0 right after .bss is cleared and before any other code,
//! so the bytes it hashes are exactly the firmware file QEMU loaded.
//!
//! On QEMU the device secret is a DEVELOPMENT key that the platform (QEMU's
//! loader device, see `keystone-py build`) places in the last page of the SM
//! region: the magic `KSDEVKEY`, then 32 secret bytes. Without it the SM
//! falls back to a public all-zero development secret and says so loudly.

use keystone_abi::layout::SM_BASE;
use keystone_abi::sm::{DEVICE_SECRET_ADDR, DEVICE_SECRET_MAGIC};
use sm_core::crypto::{self, Keypair};
use spin::Once;

/// What the boot stage hands the SM (kept in SM memory, closed by PMP).
pub struct SmKeys {
    pub sm_hash: [u8; 64],
    pub sm: Keypair,
    pub sm_signature: [u8; 64],
    pub device_public: [u8; 32],
    pub device_secret_provided: bool,
}

static KEYS: Once<SmKeys> = Once::new();

unsafe extern "C" {
    static __sm_image_end: u8;
}

/// The keys, once the boot stage has run.
pub fn get() -> &'static SmKeys {
    KEYS.get().expect("boot stage ran before anything else")
}

/// Boot stage entry, called from the reset assembly on hart 0 only.
#[unsafe(no_mangle)]
extern "C" fn sm_boot_stage() {
    let end = core::ptr::addr_of!(__sm_image_end) as usize;
    // SAFETY: [SM_BASE, __sm_image_end) is the loaded image (text, rodata,
    // data), untouched so far: only .bss has been written.
    let image = unsafe { core::slice::from_raw_parts(SM_BASE as *const u8, end - SM_BASE) };
    let sm_hash = crypto::sha3_512(image);

    let page = DEVICE_SECRET_ADDR as *mut u8;
    // SAFETY: the last page of the SM region is reserved for the secret
    // (the linker script keeps the SM below it); M-mode reads it directly.
    let (provided, mut secret) = unsafe {
        let magic = core::slice::from_raw_parts(page, 8);
        let mut secret = [0u8; 32];
        let provided = magic == DEVICE_SECRET_MAGIC;
        if provided {
            core::ptr::copy_nonoverlapping(page.add(8), secret.as_mut_ptr(), 32);
        }
        (provided, secret)
    };
    // SAFETY: wipes the whole secret page; nothing else lives there.
    unsafe { core::ptr::write_bytes(page, 0, 0x1000) };

    let device = Keypair::from_seed(&secret);
    let mut seed = crypto::derive_sm_seed(&secret, &sm_hash);
    let sm = Keypair::from_seed(&seed);
    let sm_public = sm.public();
    let sm_signature = device.sign(&[&sm_hash, &sm_public]);
    let device_public = device.public();
    drop(device);
    zero(&mut secret);
    zero(&mut seed);
    KEYS.call_once(|| SmKeys {
        sm_hash,
        sm,
        sm_signature,
        device_public,
        device_secret_provided: provided,
    });
}

fn zero(buf: &mut [u8]) {
    for b in buf.iter_mut() {
        // SAFETY: a volatile write so the wipe is not optimised away.
        unsafe { core::ptr::write_volatile(b, 0) };
    }
}

/// Lower-case hex of the first bytes of `v`, for the banner.
pub fn short_hex(v: &[u8]) -> impl core::fmt::Display + '_ {
    struct Hex<'a>(&'a [u8]);
    impl core::fmt::Display for Hex<'_> {
        fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
            for b in self.0 {
                write!(f, "{b:02x}")?;
            }
            Ok(())
        }
    }
    Hex(&v[..v.len().min(8)])
}

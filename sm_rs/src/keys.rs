//! The boot stage: measure the SM image, derive the SM's key pair from the
//! device secret and that measurement, have the device key sign
//! (SM hash ‖ SM public key), and wipe the device secret.
//!
//! It runs on hart 0 right after .bss is cleared and before any other code,
//! so the bytes it hashes are exactly the firmware file QEMU loaded.
//!
//! The SM hash is Keystone's: SHA3-512 of the SM region as loaded,
//! `SM_HASH_SIZE` (0x1ff000) bytes from SM_BASE, which is the image followed
//! by zeros (Keystone's boot ROM hashes that much memory; its verifier pads
//! the firmware file to it). The zeros are hashed, not the memory behind the
//! image, because .bss, the boot stack and the scrub registry live there.
//!
//! On QEMU the device key is a DEVELOPMENT key that the platform (QEMU's
//! loader device, see `keystone_py/attest/devkey.py`) places in the last
//! page of the SM region, in one of two forms: the magic `KSDEVKEY` then a
//! 32-byte seed (ours), or the magic `KSDEVK64` then Keystone's form, the
//! 64-byte expanded secret and its 32-byte public key. Without either the
//! SM falls back to a public all-zero development seed and says so loudly.

use keystone_abi::layout::SM_BASE;
use keystone_abi::sm::{
    DEVICE_KEY_EXPANDED_MAGIC, DEVICE_SECRET_ADDR, DEVICE_SECRET_MAGIC, SM_HASH_SIZE,
};
use sm_core::crypto::{self, Keypair};
use spin::Once;

/// Which device key the platform handed over.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum DeviceKeySource {
    /// None: the public all-zero development seed.
    None,
    /// A 32-byte seed (`KSDEVKEY`).
    Seed,
    /// Keystone's form: 64-byte expanded secret + public key (`KSDEVK64`).
    Expanded,
    /// A `KSDEVK64` page whose public key is not its secret's: refused, the
    /// all-zero development seed is used instead.
    Refused,
}

/// What the boot stage hands the SM (kept in SM memory, closed by PMP).
pub struct SmKeys {
    pub sm_hash: [u8; 64],
    pub sm: Keypair,
    pub sm_signature: [u8; 64],
    pub device_public: [u8; 32],
    pub device_key: DeviceKeySource,
}

static KEYS: Once<SmKeys> = Once::new();

unsafe extern "C" {
    static __sm_image_end: u8;
}

/// The keys, once the boot stage has run.
pub fn get() -> &'static SmKeys {
    KEYS.get().expect("boot stage ran before anything else")
}

/// The device key and the secret bytes the SM key is derived from (the
/// seed, or the 64 expanded bytes), read from the platform's page.
fn read_device_key(page: *const u8) -> (DeviceKeySource, Keypair, [u8; 64], usize) {
    let mut secret = [0u8; 64];
    // SAFETY: the last page of the SM region is reserved for the device key
    // (the linker script keeps the SM below it); M-mode reads it directly,
    // and 8 + 64 + 32 bytes fit in the page.
    let (magic, body) = unsafe {
        (core::slice::from_raw_parts(page, 8), core::slice::from_raw_parts(page.add(8), 96))
    };
    if magic == DEVICE_KEY_EXPANDED_MAGIC {
        secret.copy_from_slice(&body[..64]);
        let mut public = [0u8; 32];
        public.copy_from_slice(&body[64..96]);
        if let Some(device) = Keypair::from_expanded(&secret, &public) {
            return (DeviceKeySource::Expanded, device, secret, 64);
        }
        zero(&mut secret);
        let device = Keypair::from_seed(&[0; 32]);
        return (DeviceKeySource::Refused, device, secret, 32);
    }
    let source = if magic == DEVICE_SECRET_MAGIC {
        secret[..32].copy_from_slice(&body[..32]);
        DeviceKeySource::Seed
    } else {
        DeviceKeySource::None
    };
    let mut seed = [0u8; 32];
    seed.copy_from_slice(&secret[..32]);
    let device = Keypair::from_seed(&seed);
    zero(&mut seed);
    (source, device, secret, 32)
}

/// Boot stage entry, called from the reset assembly on hart 0 only.
#[unsafe(no_mangle)]
extern "C" fn sm_boot_stage() {
    let end = core::ptr::addr_of!(__sm_image_end) as usize;
    // SAFETY: [SM_BASE, __sm_image_end) is the loaded image (text, rodata,
    // data), untouched so far: only .bss has been written.
    let image = unsafe { core::slice::from_raw_parts(SM_BASE as *const u8, end - SM_BASE) };
    let sm_hash = crypto::sha3_512_zero_padded(image, SM_HASH_SIZE)
        .expect("the linker script keeps the image below the device-key page");

    let page = DEVICE_SECRET_ADDR as *mut u8;
    let (device_key, device, mut secret, secret_len) = read_device_key(page);
    // SAFETY: wipes the whole device-key page; nothing else lives there.
    unsafe { core::ptr::write_bytes(page, 0, 0x1000) };

    let mut seed = crypto::derive_sm_seed(&secret[..secret_len], &sm_hash);
    let sm = Keypair::from_seed(&seed);
    let sm_public = sm.public();
    let sm_signature = device.sign(&[&sm_hash, &sm_public]);
    let device_public = device.public();
    drop(device);
    zero(&mut secret);
    zero(&mut seed);
    KEYS.call_once(|| SmKeys { sm_hash, sm, sm_signature, device_public, device_key });
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

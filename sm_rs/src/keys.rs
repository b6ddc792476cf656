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

use keystone_abi::sm::{DEVICE_KEY_EXPANDED_MAGIC, DEVICE_SECRET_MAGIC, SM_HASH_SIZE};
use sm_core::crypto::{self, Keypair};
use sm_hal::smmem;
use spin::Once;
use zeroize::Zeroize;

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

/// The keys, once the boot stage has run.
pub fn get() -> &'static SmKeys {
    KEYS.get().expect("boot stage ran before anything else")
}

/// The device key and the secret bytes the SM key is derived from (the
/// seed, or the 64 expanded bytes), read from the platform's page.
fn read_device_key(
    page: &[u8; smmem::DEVICE_KEY_BYTES],
) -> (DeviceKeySource, Keypair, [u8; 64], usize) {
    let mut secret = [0u8; 64];
    let (magic, body) = page.split_at(8);
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
// Trap/entry glue: the reset assembly calls this symbol by name.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
extern "C" fn sm_boot_stage() {
    // The loaded image (text, rodata, data), untouched so far: only .bss has
    // been written.
    let sm_hash = smmem::with_boot_image(|image| crypto::sha3_512_zero_padded(image, SM_HASH_SIZE))
        .expect("the linker script keeps the image below the device-key page");

    let mut page = smmem::read_device_key_page();
    let (device_key, device, mut secret, secret_len) = read_device_key(&page);
    zero(&mut page);
    // Wipes the whole device-key page; nothing else lives there.
    smmem::wipe_device_key_page();

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

/// Wipes a secret (volatile writes, not optimised away).
fn zero(buf: &mut [u8]) {
    buf.zeroize();
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

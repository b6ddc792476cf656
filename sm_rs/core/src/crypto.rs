//! The SM's cryptography: Ed25519 with SHA3-512 in place of SHA-512
//! (Keystone's scheme, docs/abi.md §5.2), key derivation and sealing keys
//! with HKDF over HMAC-SHA3-512. Built from `curve25519-dalek`, `sha3`,
//! `hkdf` and `hmac`; pure, so it is tested on the host against vectors
//! cross-checked in Python.

use curve25519_dalek::constants::ED25519_BASEPOINT_TABLE;
use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::scalar::{clamp_integer, Scalar};
use hkdf::Hkdf;
use sha3::{Digest, Sha3_512};
use zeroize::Zeroize;

/// An expanded Ed25519-SHA3 private key and its public key.
pub struct Keypair {
    scalar: Scalar,
    prefix: [u8; 32],
    public: [u8; 32],
}

impl Drop for Keypair {
    fn drop(&mut self) {
        self.scalar.zeroize();
        self.prefix.zeroize();
    }
}

fn sha3_parts(parts: &[&[u8]]) -> [u8; 64] {
    let mut h = Sha3_512::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

impl Keypair {
    /// Expands a 32-byte seed: SHA3-512(seed) = clamped scalar ‖ nonce prefix.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let mut h = sha3_parts(&[seed]);
        let mut low = [0u8; 32];
        low.copy_from_slice(&h[..32]);
        let scalar = Scalar::from_bytes_mod_order(clamp_integer(low));
        let mut prefix = [0u8; 32];
        prefix.copy_from_slice(&h[32..]);
        h.zeroize();
        low.zeroize();
        let public = (&scalar * ED25519_BASEPOINT_TABLE).compress().to_bytes();
        Self { scalar, prefix, public }
    }

    /// Takes a key in Keystone's form (`bootrom/test_dev_key.h`): the 64-byte
    /// expanded secret (scalar ‖ nonce prefix) and its public key. `None`
    /// when `public` is not the scalar's point, so a mistyped key is refused
    /// instead of producing signatures no verifier accepts.
    pub fn from_expanded(secret: &[u8; 64], public: &[u8; 32]) -> Option<Self> {
        let mut low = [0u8; 32];
        low.copy_from_slice(&secret[..32]);
        let scalar = Scalar::from_bytes_mod_order(low);
        low.zeroize();
        let mut prefix = [0u8; 32];
        prefix.copy_from_slice(&secret[32..]);
        let derived = (&scalar * ED25519_BASEPOINT_TABLE).compress().to_bytes();
        let key = Self { scalar, prefix, public: derived };
        (derived == *public).then_some(key)
    }

    /// The public key (compressed Edwards point).
    pub fn public(&self) -> [u8; 32] {
        self.public
    }

    /// The 64 secret bytes (scalar ‖ prefix) used as sealing-key IKM.
    pub fn secret_bytes(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(self.scalar.as_bytes());
        out[32..].copy_from_slice(&self.prefix);
        out
    }

    /// Signs the concatenation of `parts` (no buffer needed for the message).
    pub fn sign(&self, parts: &[&[u8]]) -> [u8; 64] {
        let mut r_input: [&[u8]; 9] = [&[]; 9];
        assert!(parts.len() < r_input.len(), "too many message parts");
        r_input[0] = &self.prefix;
        r_input[1..=parts.len()].copy_from_slice(parts);
        let r = Scalar::from_bytes_mod_order_wide(&sha3_parts(&r_input[..=parts.len()]));
        let big_r = (&r * ED25519_BASEPOINT_TABLE).compress().to_bytes();
        let k = challenge(&big_r, &self.public, parts);
        let s = r + k * self.scalar;
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&big_r);
        sig[32..].copy_from_slice(s.as_bytes());
        sig
    }
}

fn challenge(r: &[u8; 32], public: &[u8; 32], parts: &[&[u8]]) -> Scalar {
    let mut h = Sha3_512::new();
    h.update(r);
    h.update(public);
    for p in parts {
        h.update(p);
    }
    Scalar::from_bytes_mod_order_wide(&h.finalize().into())
}

/// Checks an Ed25519-SHA3 signature over the concatenation of `parts`.
pub fn verify(public: &[u8; 32], parts: &[&[u8]], sig: &[u8; 64]) -> bool {
    let Some(a) = CompressedEdwardsY(*public).decompress() else { return false };
    let mut r_bytes = [0u8; 32];
    r_bytes.copy_from_slice(&sig[..32]);
    let mut s_bytes = [0u8; 32];
    s_bytes.copy_from_slice(&sig[32..]);
    let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)) else {
        return false;
    };
    let k = challenge(&r_bytes, public, parts);
    let check = &s * ED25519_BASEPOINT_TABLE - k * a;
    check.compress().to_bytes() == r_bytes
}

/// Salt of the SM key derivation (domain separation).
pub const SM_KEY_SALT: &[u8] = b"keystone-rs SM key v1";

/// The SM's key seed: HKDF-SHA3-512 over the whole device secret (the
/// 32-byte seed, or Keystone's 64-byte expanded form) and SM hash (not
/// Keystone's one-byte quirk).
pub fn derive_sm_seed(device_secret: &[u8], sm_hash: &[u8; 64]) -> [u8; 32] {
    let hk = Hkdf::<Sha3_512>::new(Some(SM_KEY_SALT), device_secret);
    let mut seed = [0u8; 32];
    hk.expand(sm_hash, &mut seed).expect("32 bytes is a valid HKDF length");
    seed
}

/// A sealing key: HKDF-SHA3-512, IKM = the SM secret, info = enclave hash ‖ ident.
pub fn sealing_key(sm_secret: &[u8; 64], enclave_hash: &[u8; 64], ident: &[u8]) -> [u8; 128] {
    let hk = Hkdf::<Sha3_512>::new(None, sm_secret);
    let mut key = [0u8; 128];
    hk.expand_multi_info(&[enclave_hash, ident], &mut key)
        .expect("128 bytes is a valid HKDF length");
    key
}

/// SHA3-512 of `data` zero-padded to `len` bytes: Keystone's SM hash is the
/// SM region as loaded, `len` = 0x1ff000 bytes from its base, so an image
/// shorter than that is followed by zeros. `None` when `data` is longer.
pub fn sha3_512_zero_padded(data: &[u8], len: usize) -> Option<[u8; 64]> {
    let mut zeros = len.checked_sub(data.len())?;
    let mut h = Sha3_512::new();
    h.update(data);
    let block = [0u8; 256];
    while zeros > 0 {
        let n = zeros.min(block.len());
        h.update(&block[..n]);
        zeros -= n;
    }
    Some(h.finalize().into())
}

/// SHA3-512 of a byte string.
pub fn sha3_512(data: &[u8]) -> [u8; 64] {
    sha3_parts(&[data])
}

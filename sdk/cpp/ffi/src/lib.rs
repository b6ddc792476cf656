//! The C ABI of the C++ host SDK's verifier (`sdk/cpp`, `Report::verify`):
//! Ed25519 signatures over SHA3-512, checked with `sm_core::crypto::verify`,
//! the same code that makes the SM's signatures. Everything else of the C++
//! SDK is C/C++ (see sdk/cpp/README.md for why).

use sm_core::crypto;

/// 1 when `sig` (64 bytes) is `public`'s (32 bytes) Ed25519-SHA3 signature of
/// the `len` bytes at `msg`, else 0 (also for a null pointer).
///
/// # Safety
/// `public` must point to 32 readable bytes, `sig` to 64, and `msg` to `len`
/// (or be null with `len` 0).
#[no_mangle]
pub unsafe extern "C" fn ks_ed25519_sha3_verify(
    public: *const u8,
    msg: *const u8,
    len: usize,
    sig: *const u8,
) -> i32 {
    if public.is_null() || sig.is_null() || (msg.is_null() && len != 0) {
        return 0;
    }
    // SAFETY: the caller gives 32 readable bytes at `public` (checked non-null).
    let public = unsafe { &*public.cast::<[u8; 32]>() };
    // SAFETY: the caller gives 64 readable bytes at `sig` (checked non-null).
    let sig = unsafe { &*sig.cast::<[u8; 64]>() };
    let msg: &[u8] = if len == 0 {
        &[]
    } else {
        // SAFETY: the caller gives `len` readable bytes at `msg` (checked non-null).
        unsafe { std::slice::from_raw_parts(msg, len) }
    };
    i32::from(crypto::verify(public, &[msg], sig))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sm_core::crypto::Keypair;

    fn check(public: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> i32 {
        // SAFETY: every pointer names a live buffer of the length given.
        unsafe { ks_ed25519_sha3_verify(public.as_ptr(), msg.as_ptr(), msg.len(), sig.as_ptr()) }
    }

    #[test]
    fn accepts_the_signers_signature_and_nothing_altered() {
        let key = Keypair::from_seed(&[7; 32]);
        let sig = key.sign(&[b"hello ", b"enclave"]);
        let public = key.public();
        assert_eq!(check(&public, b"hello enclave", &sig), 1);
        assert_eq!(check(&public, b"hello enclavf", &sig), 0);
        let mut bad = sig;
        bad[3] ^= 1;
        assert_eq!(check(&public, b"hello enclave", &bad), 0);
        let other = Keypair::from_seed(&[8; 32]).public();
        assert_eq!(check(&other, b"hello enclave", &sig), 0);
        // SAFETY: null pointers are refused before any read.
        let refused =
            unsafe { ks_ed25519_sha3_verify(std::ptr::null(), b"x".as_ptr(), 1, sig.as_ptr()) };
        assert_eq!(refused, 0);
    }
}

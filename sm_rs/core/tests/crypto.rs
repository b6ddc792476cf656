//! Ed25519-SHA3 and the key derivations, against vectors computed
//! independently in Python (hashlib's SHA3-512 and HMAC, PyNaCl's
//! low-level Ed25519 point and scalar operations).

use sm_core::crypto::{derive_sm_seed, sealing_key, verify, Keypair};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

const SEED: [u8; 32] = {
    let mut s = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        s[i] = i as u8;
        i += 1;
    }
    s
};
const MSG: &[u8] = b"keystone-rs test vector";

#[test]
fn public_key_matches_python() {
    let kp = Keypair::from_seed(&SEED);
    assert_eq!(
        kp.public().to_vec(),
        hex("13c6c45b3c3043fc0dd58c02955dd3bfbbe05b43feda45b5799a0b4582f70315")
    );
    let zero = Keypair::from_seed(&[0; 32]);
    assert_eq!(
        zero.public().to_vec(),
        hex("43eeb17f0bab10dd51ab70983c25200a1742d31b3b7b54c38c34d7b827b26eed")
    );
}

#[test]
fn signature_matches_python() {
    let kp = Keypair::from_seed(&SEED);
    assert_eq!(kp.sign(&[MSG]).to_vec(), hex("feeeaf80c8ff5b51be0b13d56647baa725b050df4211b14287df230e692a997d95976ff9a70590be2941ee6819de40dc9f861cc7a1460779e14a31fb0e1c480a"));
    let zero = Keypair::from_seed(&[0; 32]);
    assert_eq!(zero.sign(&[]).to_vec(), hex("daa540873fbcddde897e40b1c8e91d29c03d6ccd352da484d202ef823d400775ed0617f7a703fd47b0aa407f469025c78ae64a0c38eb2c835d1a91097d857000"));
}

#[test]
fn message_parts_sign_like_their_concatenation() {
    let kp = Keypair::from_seed(&SEED);
    assert_eq!(kp.sign(&[&MSG[..5], &MSG[5..12], &MSG[12..]]), kp.sign(&[MSG]));
}

#[test]
fn verify_accepts_good_and_rejects_tampered_signatures() {
    let kp = Keypair::from_seed(&SEED);
    let sig = kp.sign(&[MSG]);
    assert!(verify(&kp.public(), &[MSG], &sig));
    for i in [0, 31, 32, 63] {
        let mut bad = sig;
        bad[i] ^= 1;
        assert!(!verify(&kp.public(), &[MSG], &bad), "flipped byte {i}");
    }
    assert!(!verify(&kp.public(), &[b"keystone-rs test vectoR"], &sig));
    assert!(!verify(&Keypair::from_seed(&[1; 32]).public(), &[MSG], &sig));
}

#[test]
fn sm_seed_derivation_matches_python_hkdf() {
    let seed = derive_sm_seed(&SEED, &[7; 64]);
    assert_eq!(
        seed.to_vec(),
        hex("b65c05937655d26d890196fd7683cdc7b4ddefad82aa26eca788dc72d5085e02")
    );
}

#[test]
fn sm_seed_depends_on_every_byte_of_its_inputs() {
    let base = derive_sm_seed(&SEED, &[7; 64]);
    let mut secret = SEED;
    secret[31] ^= 1;
    assert_ne!(derive_sm_seed(&secret, &[7; 64]), base);
    let mut hash = [7u8; 64];
    hash[63] ^= 1;
    assert_ne!(derive_sm_seed(&SEED, &hash), base);
}

#[test]
fn sealing_key_matches_python_hkdf() {
    let mut ikm = [0u8; 64];
    for (i, b) in ikm.iter_mut().enumerate() {
        *b = i as u8;
    }
    let key = sealing_key(&ikm, &[9; 64], b"identifier");
    assert_eq!(key.to_vec(), hex("5036580d8bb970aa920f0335a6c4c7566343480e67a3f7843f98c8ac9e128da36522bbc0e9227e8833642d63937aff5c68a16f2d51cbe7f37ad813673008efbb0696f8752e038907bf96599696c07b7c33825426c55ba9a6d06bd497359673c7f6fe49cbb5fe7874262b1967f429b7c8d46dd9b2b4a97ac6d86cc16cfac227c2"));
    assert_ne!(sealing_key(&ikm, &[9; 64], b"identifieR"), key);
}

/// Keystone's expanded form of a seed: SHA3-512(seed) with the low half clamped.
fn expanded(seed: &[u8; 32]) -> [u8; 64] {
    use sha3::{Digest, Sha3_512};
    let mut out: [u8; 64] = Sha3_512::digest(seed).into();
    out[0] &= 248;
    out[31] &= 127;
    out[31] |= 64;
    out
}

#[test]
fn expanded_key_signs_like_the_seed_it_came_from() {
    let seed_kp = Keypair::from_seed(&SEED);
    let kp = Keypair::from_expanded(&expanded(&SEED), &seed_kp.public()).expect("matching key");
    assert_eq!(kp.public(), seed_kp.public());
    assert_eq!(kp.sign(&[MSG]), seed_kp.sign(&[MSG]));
    assert_eq!(kp.secret_bytes(), seed_kp.secret_bytes());
}

#[test]
fn expanded_key_with_a_foreign_public_key_is_refused() {
    let other = Keypair::from_seed(&[1; 32]).public();
    assert!(Keypair::from_expanded(&expanded(&SEED), &other).is_none());
    let mut wrong = Keypair::from_seed(&SEED).public();
    wrong[0] ^= 1;
    assert!(Keypair::from_expanded(&expanded(&SEED), &wrong).is_none());
}

#[test]
fn zero_padded_hash_matches_python() {
    use sm_core::crypto::sha3_512_zero_padded;
    assert_eq!(
        sha3_512_zero_padded(MSG, 0x1f_f000).unwrap().to_vec(),
        hex("f94411ba0489615af7eb088226edbc4c3651378f18a1c58eb8167e437f13030709e719ed8da46368e2013cfe978793944058270443e81a40d3535b4121665170")
    );
    assert_eq!(
        sha3_512_zero_padded(&[], 0x1f_f000).unwrap().to_vec(),
        hex("d36ae4e84d0731776caa4f2f063439aa8edfec796d674d15d19ebba2cb87f9b0ce26028b3d90ce434aa9e57a48d6bb31e3132de77f95f9563e6a94b6133836d2")
    );
    assert_eq!(sha3_512_zero_padded(MSG, MSG.len()), Some(sm_core::crypto::sha3_512(MSG)));
    assert_eq!(sha3_512_zero_padded(MSG, MSG.len() - 1), None);
}

//! ATTEST_ENCLAVE and GET_SEALING_KEY (docs/abi.md §5).

use crate::keys;
use crate::umem::USlice;
use keystone_abi::sm::report::*;
use sm_core::crypto;
use sm_core::error::SmError;
use sm_core::pmp::Range;
use sm_hal::phys;

/// Builds the 1352-byte report for an enclave with measurement `hash`.
pub fn build_report(hash: &[u8; 64], data: &[u8]) -> [u8; REPORT] {
    let k = keys::get();
    let mut r = [0u8; REPORT];
    r[OFF_ENCLAVE_HASH..OFF_ENCLAVE_HASH + MDSIZE].copy_from_slice(hash);
    let len = (data.len() as u64).to_le_bytes();
    r[OFF_DATA_LEN..OFF_DATA_LEN + 8].copy_from_slice(&len);
    r[OFF_DATA..OFF_DATA + data.len()].copy_from_slice(data);
    let sig = k.sm.sign(&[hash, &len, data]);
    r[OFF_ENCLAVE_SIG..OFF_ENCLAVE_SIG + SIGNATURE].copy_from_slice(&sig);
    r[OFF_SM_HASH..OFF_SM_HASH + MDSIZE].copy_from_slice(&k.sm_hash);
    r[OFF_SM_PK..OFF_SM_PK + PUBLIC_KEY].copy_from_slice(&k.sm.public());
    r[OFF_SM_SIG..OFF_SM_SIG + SIGNATURE].copy_from_slice(&k.sm_signature);
    r[OFF_DEV_PK..OFF_DEV_PK + PUBLIC_KEY].copy_from_slice(&k.device_public);
    r
}

/// ATTEST_ENCLAVE: data and report buffer are the enclave's virtual
/// addresses, read and written through MPRV with its own translation.
// Off the world-switch path: kept out of line so the trap handler stays lean.
#[inline(never)]
pub fn attest(
    hash: &[u8; 64],
    report_va: usize,
    data_va: usize,
    size: usize,
) -> Result<(), SmError> {
    const BAD: SmError = SmError::IllegalArgument("attest/sealing buffer");
    let data_in = USlice::<u8>::new(data_va, size, DATA_MAX).map_err(|_| BAD)?;
    let report_out = USlice::<u8>::new(report_va, REPORT, REPORT).map_err(|_| BAD)?;
    let mut data = [0u8; DATA_MAX];
    data_in.read_into(&mut data).map_err(|_| BAD)?;
    let report = build_report(hash, &data[..size]);
    report_out.write_from(&report).map_err(|_| BAD)
}

/// GET_SEALING_KEY: key struct and identifier are physical addresses that
/// must lie inside the calling enclave's EPM.
// Off the world-switch path: kept out of line so the trap handler stays lean.
#[inline(never)]
pub fn sealing_key(
    hash: &[u8; 64],
    epm: Range,
    key_pa: usize,
    ident_pa: usize,
    len: usize,
) -> Result<(), SmError> {
    if len > SEALING_IDENT_MAX {
        return Err(SmError::IllegalArgument("attest/sealing buffer"));
    }
    let inside = |base: usize, size: usize| {
        size == 0 || Range::new(base, size).is_ok_and(|r| epm.contains(&r))
    };
    if !inside(key_pa, SEALING_KEY_STRUCT) || !inside(ident_pa, len) {
        return Err(SmError::IllegalArgument("attest/sealing buffer"));
    }
    let k = keys::get();
    let mut ident = [0u8; SEALING_IDENT_MAX];
    // [ident_pa, +len) lies in the calling enclave's EPM (checked).
    if len != 0 {
        phys::read_into(
            crate::memory::phys(Range { base: ident_pa, size: len }),
            &mut ident[..len],
        );
    }
    let secret = k.sm.secret_bytes();
    let key = crypto::sealing_key(&secret, hash, &ident[..len]);
    let sig = k.sm.sign(&[&key]);
    // [key_pa, +192) lies in the calling enclave's EPM (checked).
    let out = crate::memory::phys(Range { base: key_pa, size: SEALING_KEY_STRUCT });
    phys::write_from(out, &key[..SEALING_KEY]);
    phys::write_from(out.sub(SEALING_KEY, SIGNATURE).expect("the key struct holds both"), &sig);
    Ok(())
}

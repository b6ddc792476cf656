//! BASE extension: versions, implementation identity, probing.

use super::Call;
use crate::arch::csr;
use keystone_abi::sm::{impl_version, SBI_IMPL_ID};
use sbi_spec::base::*;
use sbi_spec::binary::SbiRet;

/// Version of this implementation, from the crate version.
fn our_version() -> usize {
    let parse = |s: &str| s.parse::<usize>().unwrap_or(0);
    impl_version(
        parse(env!("CARGO_PKG_VERSION_MAJOR")),
        parse(env!("CARGO_PKG_VERSION_MINOR")),
        parse(env!("CARGO_PKG_VERSION_PATCH")),
    )
}

pub fn handle(call: &Call<'_>) -> SbiRet {
    match call.fid() {
        GET_SBI_SPEC_VERSION => SbiRet::success(2 << 24),
        GET_SBI_IMPL_ID => SbiRet::success(SBI_IMPL_ID),
        GET_SBI_IMPL_VERSION => SbiRet::success(our_version()),
        PROBE_EXTENSION => SbiRet::success(sm_core::sbi_ext::probe(call.arg(0)) as usize),
        GET_MVENDORID => SbiRet::success(csr::mvendorid::read()),
        GET_MARCHID => SbiRet::success(csr::marchid::read()),
        GET_MIMPID => SbiRet::success(csr::mimpid::read()),
        _ => SbiRet::not_supported(),
    }
}

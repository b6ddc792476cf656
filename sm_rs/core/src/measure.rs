//! The enclave measurement (docs/abi.md §2.4).
//!
//! SHA3-512 over three little-endian u64 offsets (runtime - EPM base,
//! user - runtime, free - user), then every 4 KiB page of [EPM base, free)
//! in address order. Freemem and the UTM are not hashed.

use crate::create_args::EnclaveLayout;
use crate::pmp_alloc::PAGE_SIZE;
use keystone_abi::sm::MDSIZE;
use sha3::{Digest, Sha3_512};

/// One page as the measurement consumes it.
pub type Page = [u8; PAGE_SIZE];

/// SHA3-512 of `data` in one go (FIPS-202 padding, not Keccak's).
pub fn sha3_512(data: &[u8]) -> [u8; MDSIZE] {
    let mut out = [0u8; MDSIZE];
    out.copy_from_slice(&Sha3_512::digest(data));
    out
}

/// The 24-byte header hashed before the pages, so offsets are bound into the hash.
pub fn header(layout: &EnclaveLayout) -> [u8; 24] {
    let fields =
        [layout.runtime - layout.epm.base, layout.user - layout.runtime, layout.free - layout.user];
    let mut out = [0u8; 24];
    for (chunk, v) in out.chunks_exact_mut(8).zip(fields) {
        chunk.copy_from_slice(&(v as u64).to_le_bytes());
    }
    out
}

/// Physical addresses of the measured pages, in the order they are hashed.
pub fn page_addresses(layout: &EnclaveLayout) -> impl Iterator<Item = usize> {
    (layout.epm.base..layout.free).step_by(PAGE_SIZE)
}

/// Streaming measurement, so the caller decides how page bytes are reached.
#[derive(Clone)]
pub struct Measurer {
    hasher: Sha3_512,
    pages: usize,
}

impl Measurer {
    /// Starts a measurement of `layout` by hashing its header.
    pub fn new(layout: &EnclaveLayout) -> Self {
        let mut hasher = Sha3_512::new();
        hasher.update(header(layout));
        Self { hasher, pages: 0 }
    }

    /// Hashes the next page; pages must come in `page_addresses` order.
    pub fn update_page(&mut self, page: &Page) {
        self.hasher.update(page);
        self.pages += 1;
    }

    /// Pages hashed so far, to check against `EnclaveLayout::measured_pages`.
    pub fn pages(&self) -> usize {
        self.pages
    }

    /// The 64-byte measurement stored as the enclave's hash.
    pub fn finalize(self) -> [u8; MDSIZE] {
        let mut out = [0u8; MDSIZE];
        out.copy_from_slice(&self.hasher.finalize());
        out
    }
}

/// Measures `layout`, reading each page through `page(pa)` without copying it.
pub fn measure<'a>(
    layout: &EnclaveLayout,
    mut page: impl FnMut(usize) -> &'a Page,
) -> [u8; MDSIZE] {
    let mut m = Measurer::new(layout);
    for pa in page_addresses(layout) {
        m.update_page(page(pa));
    }
    m.finalize()
}

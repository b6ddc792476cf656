//! Eyrie-compatible enclave loader and runtime: the pure logic, testable on the
//! build machine (`cargo test -p keystone-runtime`), shared by the two
//! S-mode binaries `loader` and `eyrie-rt`.
//!
//! - [`freemem`]: the page allocator over the enclave's free memory.
//! - [`pt`]: Sv39 page tables over any [`pt::PhysMem`].
//! - [`elf`]: which ELF segments to load where, validated (xmas-elf parses).
//! - [`edge`]: bounds checks on everything the untrusted host writes in the UTM.
//! - [`user`]: checks that an eapp's pointer names its own memory, once, in
//!   the constructor of the [`user::UserSlice`] every copy takes.
//! - [`epm`]: physical ranges inside the enclave's memory, checked the same way.
#![cfg_attr(not(test), no_std)]

pub mod args;
pub mod edge;
pub mod elf;
pub mod epm;
pub mod files;
pub mod freemem;
pub mod pt;
pub mod sealed;
pub mod sockets;
pub mod user;

#[cfg(target_os = "none")]
pub mod arch;

/// Bytes per page.
pub const PAGE_SIZE: usize = keystone_abi::eyrie::vm::PAGE_SIZE;

/// Page-table pages our loader's entry stub takes from the first free page
/// the SM hands it, before its root table: the runtime finds the eapp's
/// file between user_pa and them.
pub const LOADER_STUB_PAGES: usize = 3;

/// Rounds `x` down to a page boundary.
pub const fn page_down(x: usize) -> usize {
    x & !(PAGE_SIZE - 1)
}

/// Rounds `x` up to a page boundary (None on overflow).
pub const fn page_up(x: usize) -> Option<usize> {
    match x.checked_add(PAGE_SIZE - 1) {
        Some(v) => Some(v & !(PAGE_SIZE - 1)),
        None => None,
    }
}

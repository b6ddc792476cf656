//! The SBI identity of our security monitor and Keystone's SM extension.

/// SBI implementation ID reported by BASE.get_impl_id. Not registered with
/// RISC-V International: 0x4B53 ("KS") sits far above the registered range.
pub const SBI_IMPL_ID: usize = 0x4B53;
/// Keystone's SBI extension ID ("0x08" experimental, then "BKE").
pub const KEYSTONE_EID: usize = 0x0842_4b45;

/// Encodes an implementation version as major << 16 | minor << 8 | patch.
pub const fn impl_version(major: usize, minor: usize, patch: usize) -> usize {
    (major << 16) | (minor << 8) | patch
}

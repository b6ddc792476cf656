//! The SBI identity of our security monitor and Keystone's SM extension
//! (docs/abi.md §1-4): function ids, error codes, states, argument layouts.

/// SBI implementation ID reported by BASE.get_impl_id. Not registered with
/// RISC-V International: 0x4B53 ("KS") sits far above the registered range.
pub const SBI_IMPL_ID: usize = 0x4B53;
/// Keystone's SBI extension ID ("0x08" experimental, then "BKE").
pub const KEYSTONE_EID: usize = 0x0842_4b45;

/// Encodes an implementation version as major << 16 | minor << 8 | patch.
pub const fn impl_version(major: usize, minor: usize, patch: usize) -> usize {
    (major << 16) | (minor << 8) | patch
}

/// Function ids of the Keystone extension (a6).
pub mod fid {
    /// Highest deprecated id: every FID at or below it returns DEPRECATED.
    pub const DEPRECATED_MAX: usize = 1999;
    named! {
        pub const CREATE_ENCLAVE: usize = 2001;
        pub const DESTROY_ENCLAVE: usize = 2002;
        pub const RUN_ENCLAVE: usize = 2003;
        pub const RESUME_ENCLAVE: usize = 2005;
        pub const RANDOM: usize = 3001;
        pub const ATTEST_ENCLAVE: usize = 3002;
        pub const GET_SEALING_KEY: usize = 3003;
        pub const STOP_ENCLAVE: usize = 3004;
        pub const EXIT_ENCLAVE: usize = 3006;
        pub const CALL_PLUGIN: usize = 4000;
    }
    /// Host-only calls are 2000..=2999.
    pub const HOST_RANGE: core::ops::RangeInclusive<usize> = 2000..=2999;
    /// Enclave-only calls are 3000..=3999.
    pub const ENCLAVE_RANGE: core::ops::RangeInclusive<usize> = 3000..=3999;
}

/// Error codes of the Keystone extension (positive, in a0).
pub mod err {
    named! {
        pub const SUCCESS: usize = 0;
        pub const UNKNOWN_ERROR: usize = 100000;
        pub const INVALID_ID: usize = 100001;
        pub const INTERRUPTED: usize = 100002;
        pub const PMP_FAILURE: usize = 100003;
        pub const NOT_RUNNABLE: usize = 100004;
        pub const NOT_DESTROYABLE: usize = 100005;
        pub const REGION_OVERLAPS: usize = 100006;
        pub const NOT_ACCESSIBLE: usize = 100007;
        pub const ILLEGAL_ARGUMENT: usize = 100008;
        pub const NOT_RUNNING: usize = 100009;
        pub const NOT_RESUMABLE: usize = 100010;
        pub const EDGE_CALL_HOST: usize = 100011;
        pub const NOT_INITIALIZED: usize = 100012;
        pub const NO_FREE_RESOURCE: usize = 100013;
        pub const SBI_PROHIBITED: usize = 100014;
        pub const ILLEGAL_PTE: usize = 100015;
        pub const NOT_FRESH: usize = 100016;
        pub const DEPRECATED: usize = 100099;
        pub const NOT_IMPLEMENTED: usize = 100100;
        pub const PMP_REGION_SIZE_INVALID: usize = 100020;
        pub const PMP_REGION_NOT_PAGE_GRANULARITY: usize = 100021;
        pub const PMP_REGION_NOT_ALIGNED: usize = 100022;
        pub const PMP_REGION_MAX_REACHED: usize = 100023;
        pub const PMP_REGION_INVALID: usize = 100024;
        pub const PMP_REGION_OVERLAP: usize = 100025;
        pub const PMP_REGION_IMPOSSIBLE_TOR: usize = 100026;
    }
}

/// Reasons an enclave passes to STOP_ENCLAVE (a0).
pub mod stop_reason {
    named! {
        pub const TIMER_INTERRUPT: usize = 0;
        pub const EDGE_CALL_HOST: usize = 1;
        pub const EXIT_ENCLAVE: usize = 2;
    }
}

/// Enclave slots in the SM (Keystone's ENCL_MAX).
pub const ENCLAVES_MAX: usize = 16;
/// Bytes of a measurement (SHA3-512).
pub const MDSIZE: usize = 64;

/// `keystone_sbi_create_t`: what the host passes (by virtual address) to CREATE.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CreateArgs {
    pub epm_paddr: u64,
    pub epm_size: u64,
    pub utm_paddr: u64,
    pub utm_size: u64,
    pub runtime_paddr: u64,
    pub user_paddr: u64,
    pub free_paddr: u64,
    pub free_requested: u64,
}

const _: () = assert!(core::mem::size_of::<CreateArgs>() == 64);
const _: () = assert!(core::mem::align_of::<CreateArgs>() == 8);

/// `runtime_params_t`: how the SM describes the enclave's memory to it.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuntimeParams {
    pub dram_base: u64,
    pub dram_size: u64,
    pub runtime_base: u64,
    pub user_base: u64,
    pub free_base: u64,
    pub untrusted_base: u64,
    pub untrusted_size: u64,
    pub free_requested: u64,
}

const _: () = assert!(core::mem::size_of::<RuntimeParams>() == 64);

/// Enclave states (Keystone's `enclave_state`).
pub mod state {
    named! {
        pub const INVALID: i32 = -1;
        pub const DESTROYING: i32 = 0;
        pub const ALLOCATED: i32 = 1;
        pub const FRESH: i32 = 2;
        pub const STOPPED: i32 = 3;
        pub const RUNNING: i32 = 4;
    }
}

/// Attestation report layout (docs/abi.md §5.1), 1352 bytes.
pub mod report {
    pub const MDSIZE: usize = 64;
    pub const PUBLIC_KEY: usize = 32;
    pub const SIGNATURE: usize = 64;
    pub const DATA_MAX: usize = 1024;
    /// enclave_report: hash, data_len (u64 LE), data[1024], signature.
    pub const ENCLAVE_REPORT: usize = MDSIZE + 8 + DATA_MAX + SIGNATURE;
    /// sm_report: hash, public key, signature.
    pub const SM_REPORT: usize = MDSIZE + PUBLIC_KEY + SIGNATURE;
    /// The whole report: enclave part, SM part, device public key.
    pub const REPORT: usize = ENCLAVE_REPORT + SM_REPORT + PUBLIC_KEY;
    /// Offsets inside the report.
    pub const OFF_ENCLAVE_HASH: usize = 0;
    pub const OFF_DATA_LEN: usize = MDSIZE;
    pub const OFF_DATA: usize = MDSIZE + 8;
    pub const OFF_ENCLAVE_SIG: usize = OFF_DATA + DATA_MAX;
    pub const OFF_SM_HASH: usize = ENCLAVE_REPORT;
    pub const OFF_SM_PK: usize = OFF_SM_HASH + MDSIZE;
    pub const OFF_SM_SIG: usize = OFF_SM_PK + PUBLIC_KEY;
    pub const OFF_DEV_PK: usize = ENCLAVE_REPORT + SM_REPORT;
    const _: () = assert!(ENCLAVE_REPORT == 1160 && SM_REPORT == 160 && REPORT == 1352);
    const _: () = assert!(OFF_DEV_PK + PUBLIC_KEY == REPORT);

    /// Sealing key struct: key[128] then the SM's signature over it.
    pub const SEALING_KEY: usize = 128;
    pub const SEALING_KEY_STRUCT: usize = SEALING_KEY + SIGNATURE;
    /// Longest key identifier the SM accepts.
    pub const SEALING_IDENT_MAX: usize = 4096;
}

/// Where the platform hands the SM its device secret on QEMU: the last page
/// of the SM region (a development key loaded by QEMU's loader device).
pub const DEVICE_SECRET_ADDR: usize = crate::layout::SM_BASE + crate::layout::SM_SIZE - 0x1000;
/// Marks a device-secret page: the magic, then 32 secret bytes.
pub const DEVICE_SECRET_MAGIC: [u8; 8] = *b"KSDEVKEY";
/// Marks a device-key page in Keystone's form (`bootrom/test_dev_key.h`):
/// the magic, the 64-byte expanded secret (clamped scalar ‖ nonce prefix),
/// then its 32-byte public key.
pub const DEVICE_KEY_EXPANDED_MAGIC: [u8; 8] = *b"KSDEVK64";
/// How many bytes from SM_BASE the SM hash covers: Keystone's
/// `sanctum_sm_size` (bootrom/bootloader.c). The SM image is hashed
/// zero-padded to this size, as Keystone's boot ROM and its attestation
/// verifier do, so the device-secret page just above is never part of it.
pub const SM_HASH_SIZE: usize = 0x1f_f000;
const _: () = assert!(SM_HASH_SIZE == DEVICE_SECRET_ADDR - crate::layout::SM_BASE);

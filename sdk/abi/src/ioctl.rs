//! The enclave driver's user ABI (KEYSTONE_ABI.md §6): the device node, the
//! ioctl numbers (Keystone's values, so Keystone's host SDK works unchanged)
//! and the argument structs. The C header `sdk/abi/include/keystone_user.h`
//! mirrors this module; tests/test_abi.py checks the two agree.

/// The misc device the driver registers.
pub const DEVICE_PATH: &str = "/dev/keystone_enclave";
/// ioctl "type" byte of every command.
pub const IOC_MAGIC: u32 = 0xa4;

/// `struct keystone_ioctl_create_enclave`: shared by CREATE, UTM_INIT,
/// FINALIZE and DESTROY. `eid` is the driver's id for the enclave (not the SM's).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CreateEnclave {
    pub eid: u64,
    /// CREATE: EPM pages wanted.
    pub min_pages: u64,
    /// UTM_INIT: UTM bytes wanted (rounded up to a power of two pages).
    pub utm_size: u64,
    /// FINALIZE: physical addresses of the runtime and the eapp in the EPM,
    /// of the first free page, and the free memory asked for.
    pub runtime_paddr: u64,
    pub user_paddr: u64,
    pub free_paddr: u64,
    pub free_requested: u64,
    /// Out (CREATE, UTM_INIT): where the driver put the EPM and the UTM.
    pub epm_paddr: u64,
    pub epm_size: u64,
    pub utm_paddr: u64,
}

/// `struct keystone_ioctl_run_enclave`: RUN and RESUME. Out: the SM's result
/// pair (`error` 0 = exited with `value`; EDGE_CALL_HOST; INTERRUPTED).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunEnclave {
    pub eid: u64,
    pub error: u64,
    pub value: u64,
}

const _: () = assert!(core::mem::size_of::<CreateEnclave>() == 80);
const _: () = assert!(core::mem::offset_of!(CreateEnclave, min_pages) == 8);
const _: () = assert!(core::mem::offset_of!(CreateEnclave, utm_size) == 16);
const _: () = assert!(core::mem::offset_of!(CreateEnclave, runtime_paddr) == 24);
const _: () = assert!(core::mem::offset_of!(CreateEnclave, free_requested) == 48);
const _: () = assert!(core::mem::offset_of!(CreateEnclave, epm_paddr) == 56);
const _: () = assert!(core::mem::offset_of!(CreateEnclave, utm_paddr) == 72);
const _: () = assert!(core::mem::size_of::<RunEnclave>() == 24);

/// Linux's generic `_IOC` encoding (RISC-V uses it): dir << 30 | size << 16 | type << 8 | nr.
pub const fn ioc(dir: u32, nr: u32, size: usize) -> u32 {
    (dir << 30) | ((size as u32) << 16) | (IOC_MAGIC << 8) | nr
}
/// `_IOC_WRITE` (user to kernel) and `_IOC_READ` (kernel to user).
pub const IOC_WRITE: u32 = 1;
pub const IOC_READ: u32 = 2;

const CREATE: usize = core::mem::size_of::<CreateEnclave>();
const RUN: usize = core::mem::size_of::<RunEnclave>();
/// Keystone's numbers. Its directions are `_IOR` even for commands that
/// read their argument; the values are kept as they are for compatibility.
pub const CREATE_ENCLAVE: u32 = ioc(IOC_READ, 0x00, CREATE);
pub const DESTROY_ENCLAVE: u32 = ioc(IOC_WRITE, 0x01, CREATE);
pub const RUN_ENCLAVE: u32 = ioc(IOC_READ, 0x04, RUN);
pub const RESUME_ENCLAVE: u32 = ioc(IOC_READ, 0x05, RUN);
pub const FINALIZE_ENCLAVE: u32 = ioc(IOC_READ, 0x06, CREATE);
pub const UTM_INIT: u32 = ioc(IOC_READ, 0x07, CREATE);

const _: () = assert!(CREATE_ENCLAVE == 0x8050_a400);
const _: () = assert!(DESTROY_ENCLAVE == 0x4050_a401);
const _: () = assert!(RUN_ENCLAVE == 0x8018_a404);
const _: () = assert!(RESUME_ENCLAVE == 0x8018_a405);
const _: () = assert!(FINALIZE_ENCLAVE == 0x8050_a406);
const _: () = assert!(UTM_INIT == 0x8050_a407);

/// Largest UTM the driver hands out (one buddy block: 4 MiB on Linux 6.1).
pub const UTM_MAX: u64 = 4 << 20;

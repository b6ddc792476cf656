//! The enclave driver's user ABI (docs/abi.md §6): the device node, the
//! ioctl numbers (Keystone's values, so Keystone's host SDK works unchanged)
//! and the argument structs. The C header `sdk/abi/include/keystone_user.h`
//! is generated from this module (`dump_abi --write`); tests/tools/test_abi.py
//! checks it is current.

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

/// A struct the driver reads and writes whole through an ioctl.
///
/// # Safety
///
/// The type is `#[repr(C)]` with no padding, and every bit pattern is a
/// valid value of it: the kernel copies raw bytes in and out.
pub unsafe trait IoctlArg {}

// SAFETY: repr(C), ten u64 fields (size 80 asserted above: no padding).
unsafe impl IoctlArg for CreateEnclave {}
// SAFETY: repr(C), three u64 fields (size 24 asserted above: no padding).
unsafe impl IoctlArg for RunEnclave {}

/// Linux's generic `_IOC` encoding (RISC-V uses it): dir << 30 | size << 16 | type << 8 | nr.
pub const fn ioc(dir: u32, nr: u32, size: usize) -> u32 {
    assert!(dir < 4 && nr < 256 && size < 1 << 14, "field out of its _IOC bits");
    (dir << 30) | ((size as u32) << 16) | (IOC_MAGIC << 8) | nr
}
/// `_IOC_WRITE` (user to kernel) and `_IOC_READ` (kernel to user).
pub const IOC_WRITE: u32 = 1;
pub const IOC_READ: u32 = 2;

/// An ioctl command whose argument is a `T`. The command number is computed
/// from `size_of::<T>()` (Linux's `_IOR`/`_IOW`), so the size the driver
/// copies (`_IOC_SIZE(cmd)`) and the argument's type cannot disagree.
pub struct Ioctl<T> {
    cmd: u32,
    size: usize,
    _arg: core::marker::PhantomData<fn(&mut T)>,
}

impl<T> Clone for Ioctl<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Ioctl<T> {}

impl<T> core::fmt::Debug for Ioctl<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Ioctl({:#x})", self.cmd)
    }
}

impl<T: IoctlArg> Ioctl<T> {
    /// `_IOC(dir, IOC_MAGIC, nr, T)`.
    pub const fn new(dir: u32, nr: u8) -> Self {
        Self::with_size(dir, nr, core::mem::size_of::<T>())
    }

    /// `_IOR(IOC_MAGIC, nr, T)`.
    pub const fn ior(nr: u8) -> Self {
        Self::new(IOC_READ, nr)
    }

    /// `_IOW(IOC_MAGIC, nr, T)`.
    pub const fn iow(nr: u8) -> Self {
        Self::new(IOC_WRITE, nr)
    }

    /// A command that claims `size` bytes, at most the argument's: for tests
    /// that check the driver refuses a command of the wrong size. The driver
    /// can never copy more than the argument holds.
    pub const fn with_size(dir: u32, nr: u8, size: usize) -> Self {
        assert!(size <= core::mem::size_of::<T>(), "an ioctl may not claim more than its argument");
        Ioctl { cmd: ioc(dir, nr as u32, size), size, _arg: core::marker::PhantomData }
    }
}

impl<T> Ioctl<T> {
    /// The command number (the ioctl's `request`).
    pub const fn cmd(&self) -> u32 {
        self.cmd
    }

    /// The size encoded in the command (`_IOC_SIZE`), at most `size_of::<T>()`.
    pub const fn size(&self) -> usize {
        self.size
    }
}

/// Keystone's numbers. Its directions are `_IOR` even for commands that
/// read their argument; the values are kept as they are for compatibility.
pub const CREATE_ENCLAVE: Ioctl<CreateEnclave> = Ioctl::ior(0x00);
pub const DESTROY_ENCLAVE: Ioctl<CreateEnclave> = Ioctl::iow(0x01);
pub const RUN_ENCLAVE: Ioctl<RunEnclave> = Ioctl::ior(0x04);
pub const RESUME_ENCLAVE: Ioctl<RunEnclave> = Ioctl::ior(0x05);
pub const FINALIZE_ENCLAVE: Ioctl<CreateEnclave> = Ioctl::ior(0x06);
pub const UTM_INIT: Ioctl<CreateEnclave> = Ioctl::ior(0x07);

const _: () = assert!(CREATE_ENCLAVE.cmd() == 0x8050_a400);
const _: () = assert!(DESTROY_ENCLAVE.cmd() == 0x4050_a401);
const _: () = assert!(RUN_ENCLAVE.cmd() == 0x8018_a404);
const _: () = assert!(RESUME_ENCLAVE.cmd() == 0x8018_a405);
const _: () = assert!(FINALIZE_ENCLAVE.cmd() == 0x8050_a406);
const _: () = assert!(UTM_INIT.cmd() == 0x8050_a407);

/// Largest UTM the driver hands out (one buddy block: 4 MiB on Linux 6.1).
pub const UTM_MAX: u64 = 4 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_sizes_are_their_argument_types() {
        for (cmd, size) in [
            (CREATE_ENCLAVE.cmd(), CREATE_ENCLAVE.size()),
            (DESTROY_ENCLAVE.cmd(), DESTROY_ENCLAVE.size()),
            (FINALIZE_ENCLAVE.cmd(), FINALIZE_ENCLAVE.size()),
            (UTM_INIT.cmd(), UTM_INIT.size()),
        ] {
            assert_eq!(size, 80);
            assert_eq!((cmd >> 16) & 0x3fff, 80, "{cmd:#x}");
        }
        assert_eq!(RUN_ENCLAVE.size(), 24);
        assert_eq!((RESUME_ENCLAVE.cmd() >> 16) & 0x3fff, 24);
    }

    #[test]
    fn a_smaller_claimed_size_is_encoded_as_given() {
        let short = Ioctl::<CreateEnclave>::with_size(IOC_READ, 0x00, 72);
        assert_eq!((short.cmd(), short.size()), (0x8048_a400, 72));
        let unknown = Ioctl::<CreateEnclave>::ior(0x20);
        assert_eq!(unknown.cmd(), 0x8050_a420);
    }

    #[test]
    #[should_panic(expected = "more than its argument")]
    fn a_larger_claimed_size_is_refused() {
        let _ = Ioctl::<RunEnclave>::with_size(IOC_READ, 0x04, 25);
    }
}

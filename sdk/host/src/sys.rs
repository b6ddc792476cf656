//! The three libc calls the SDK needs, declared here (std links libc).
//! Everything `unsafe` in the SDK is in this module.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

const PROT_READ: i32 = 1;
const PROT_WRITE: i32 = 2;
const MAP_SHARED: i32 = 1;
const MAP_FAILED: *mut u8 = !0usize as *mut u8;

unsafe extern "C" {
    fn ioctl(fd: i32, request: u64, ...) -> i32;
    fn mmap(addr: *mut u8, len: usize, prot: i32, flags: i32, fd: i32, off: i64) -> *mut u8;
    fn munmap(addr: *mut u8, len: usize) -> i32;
}

/// `ioctl(fd, cmd, arg)` with `arg` a `#[repr(C)]` struct of the driver's ABI.
pub fn ioctl_with<T>(file: &File, cmd: u32, arg: &mut T) -> io::Result<()> {
    // SAFETY: `arg` is a live, exclusive, correctly sized struct; the driver
    // copies exactly size_of::<T>() bytes (the size encoded in `cmd`).
    let rc = unsafe { ioctl(file.as_raw_fd(), cmd as u64, arg as *mut T) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `ioctl(fd, cmd, addr)` with a bare address: for tests that hand the
/// driver a pointer it must refuse (EFAULT). Never touched by this process.
pub fn ioctl_addr(file: &File, cmd: u32, addr: usize) -> io::Result<()> {
    // SAFETY: the kernel validates `addr` itself; this process does not use it.
    let rc = unsafe { ioctl(file.as_raw_fd(), cmd as u64, addr) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// A shared, read-write mapping of part of the device file.
pub struct Mapping {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is plain memory; `Mapping` hands out access only
// through `&self`/`&mut self` borrows.
unsafe impl Send for Mapping {}

impl Mapping {
    pub fn new(file: &File, offset: u64, len: usize) -> io::Result<Mapping> {
        // SAFETY: a fresh mapping chosen by the kernel; nothing aliases it.
        let ptr = unsafe {
            mmap(
                core::ptr::null_mut(),
                len,
                PROT_READ | PROT_WRITE,
                MAP_SHARED,
                file.as_raw_fd(),
                offset as i64,
            )
        };
        if ptr == MAP_FAILED {
            Err(io::Error::last_os_error())
        } else {
            Ok(Mapping { ptr, len })
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Copies `src` to `offset`. The enclave never runs while its host
    /// touches the UTM (it is stopped in an ocall), so plain copies do.
    pub fn write(&mut self, offset: usize, src: &[u8]) {
        assert!(offset <= self.len && src.len() <= self.len - offset, "write outside the mapping");
        // SAFETY: in bounds (checked above) of a live mapping that no Rust
        // reference aliases.
        unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), self.ptr.add(offset), src.len()) };
    }

    /// Copies `len` bytes from `offset` out of the mapping.
    pub fn read(&self, offset: usize, len: usize) -> Vec<u8> {
        assert!(offset <= self.len && len <= self.len - offset, "read outside the mapping");
        let mut out = vec![0u8; len];
        // SAFETY: in bounds (checked above) of a live mapping.
        unsafe { core::ptr::copy_nonoverlapping(self.ptr.add(offset), out.as_mut_ptr(), len) };
        out
    }

    pub fn read_u64(&self, offset: usize) -> u64 {
        u64::from_le_bytes(self.read(offset, 8).try_into().unwrap())
    }

    pub fn write_u64(&mut self, offset: usize, v: u64) {
        self.write(offset, &v.to_le_bytes());
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `new` mapped; no borrow outlives self.
        unsafe { munmap(self.ptr, self.len) };
    }
}

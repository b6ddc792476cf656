//! The libc calls the SDK needs, declared here (std links libc).
//! Everything `unsafe` in the SDK is in this module.

use keystone_abi::ioctl::{Ioctl, IoctlArg};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::Path;
use std::sync::atomic::AtomicU64;

const PROT_NONE: i32 = 0;
const PROT_READ: i32 = 1;
const PROT_WRITE: i32 = 2;
const MAP_SHARED: i32 = 1;
const MAP_PRIVATE: i32 = 2;
const MAP_ANONYMOUS: i32 = 0x20;
const MAP_FAILED: *mut u8 = !0usize as *mut u8;
const PAGE: usize = 4096;

unsafe extern "C" {
    fn sched_setaffinity(pid: i32, size: usize, mask: *const u64) -> i32;
    fn ioctl(fd: i32, request: u64, ...) -> i32;
    fn mmap(addr: *mut u8, len: usize, prot: i32, flags: i32, fd: i32, off: i64) -> *mut u8;
    fn munmap(addr: *mut u8, len: usize) -> i32;
    fn dup(fd: i32) -> i32;
}

/// Opens the enclave device: a path, or `fd:N`, a descriptor this process
/// already has (zCore gives every process the device at fd 666), duplicated
/// (the copy shares that descriptor's enclave, as `dup` does on Linux).
pub(crate) fn open_device(path: &Path) -> io::Result<File> {
    let Some(n) = path.to_str().and_then(|s| s.strip_prefix("fd:")) else {
        return OpenOptions::new().read(true).write(true).open(path);
    };
    let fd: i32 = n.parse().map_err(|_| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("fd:{n} is not a descriptor number"))
    })?;
    // SAFETY: dup reads only the descriptor table.
    let new = unsafe { dup(fd) };
    if new < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(e.kind(), format!("fd {fd}: {e}")));
    }
    // SAFETY: `new` is a fresh descriptor that only this File owns.
    Ok(unsafe { File::from_raw_fd(new) })
}

fn check(rc: i32) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `ioctl(fd, cmd, arg)`: the command's type is the argument's, and it
/// claims at most `size_of::<T>()` bytes (see [`Ioctl`]).
pub fn ioctl_with<T: IoctlArg>(file: &File, cmd: Ioctl<T>, arg: &mut T) -> io::Result<()> {
    // SAFETY: `arg` is a live, exclusive T; the driver copies at most
    // `_IOC_SIZE(cmd)` = `cmd.size()` <= size_of::<T>() bytes in and out of
    // it, and any bytes are a valid T (`IoctlArg`).
    check(unsafe { ioctl(file.as_raw_fd(), u64::from(cmd.cmd()), arg as *mut T) })
}

/// [`ioctl_with`] for the run loop's RUN/RESUME, once per ocall round trip:
/// on riscv64 Linux the system call itself (`ecall`, a7 = 29), without
/// libc's variadic wrapper and errno.
pub fn ioctl_hot<T: IoctlArg>(file: &File, cmd: Ioctl<T>, arg: &mut T) -> io::Result<()> {
    #[cfg(all(target_arch = "riscv64", target_os = "linux"))]
    {
        const SYS_IOCTL: usize = 29;
        let ret: isize;
        // SAFETY: as in `ioctl_with`: `arg` is a live, exclusive T and the
        // driver touches at most `cmd.size()` <= size_of::<T>() bytes of
        // it; the ecall clobbers only a0 (the kernel preserves the rest).
        unsafe {
            core::arch::asm!("ecall",
                inlateout("a0") file.as_raw_fd() as isize => ret,
                in("a1") u64::from(cmd.cmd()), in("a2") arg as *mut T, in("a7") SYS_IOCTL,
                options(nostack));
        }
        if ret < 0 {
            return Err(io::Error::from_raw_os_error(-ret as i32));
        }
        Ok(())
    }
    #[cfg(not(all(target_arch = "riscv64", target_os = "linux")))]
    ioctl_with(file, cmd, arg)
}

/// `ioctl(fd, cmd, p)` with `p` a page this process cannot access (mapped
/// PROT_NONE for the call): for tests that check the driver answers EFAULT
/// to an argument pointer it cannot read or write. Nothing of ours is there.
pub fn ioctl_inaccessible<T: IoctlArg>(file: &File, cmd: Ioctl<T>) -> io::Result<()> {
    // SAFETY: a fresh private anonymous mapping chosen by the kernel: it
    // aliases nothing.
    let page =
        unsafe { mmap(core::ptr::null_mut(), PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) };
    if page == MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel can neither read nor write a PROT_NONE page, so the
    // call touches no memory of this process.
    let r = check(unsafe { ioctl(file.as_raw_fd(), u64::from(cmd.cmd()), page) });
    // SAFETY: unmaps exactly the page mapped above, which nothing references.
    unsafe { munmap(page, PAGE) };
    r
}

/// A shared, read-write mapping of part of the device file. It hands out
/// copies only, never references: what is mapped is shared with the driver
/// and the enclave.
pub struct Mapping {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value; access goes
// through `&self`/`&mut self` methods that copy.
unsafe impl Send for Mapping {}

impl Mapping {
    pub fn new(file: &File, offset: u64, len: usize) -> io::Result<Mapping> {
        let offset = i64::try_from(offset).map_err(|_| io::Error::from_raw_os_error(22))?;
        // SAFETY: a fresh mapping chosen by the kernel; nothing aliases it.
        let ptr = unsafe {
            mmap(
                core::ptr::null_mut(),
                len,
                PROT_READ | PROT_WRITE,
                MAP_SHARED,
                file.as_raw_fd(),
                offset,
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

    pub fn is_empty(&self) -> bool {
        self.len == 0
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
        crate::SharedMem::read_u64(self, offset)
    }

    pub fn write_u64(&mut self, offset: usize, v: u64) {
        crate::SharedMem::write_u64(self, offset, v)
    }
}

impl crate::SharedMem for Mapping {
    fn len(&self) -> usize {
        self.len
    }

    // No allocation for the header words the run loop reads on every ocall.
    fn read_u64(&self, offset: usize) -> u64 {
        assert!(offset <= self.len && self.len - offset >= 8, "read outside the mapping");
        // SAFETY: 8 bytes in bounds (checked above) of a live mapping; the
        // aligned read only where the address is 8-aligned.
        let v = unsafe {
            let p = self.ptr.add(offset) as *const u64;
            // Volatile: one 8-byte load (a plain read here compiles to the
            // byte loads of the unaligned one); the enclave owns this memory too.
            if p.is_aligned() {
                p.read_volatile()
            } else {
                p.read_unaligned()
            }
        };
        u64::from_le(v)
    }

    fn write_u64(&mut self, offset: usize, v: u64) {
        assert!(offset <= self.len && self.len - offset >= 8, "write outside the mapping");
        // SAFETY: 8 bytes in bounds (checked above) of a live mapping that no
        // Rust reference aliases; the aligned write only where the address
        // is 8-aligned.
        unsafe {
            let p = self.ptr.add(offset) as *mut u64;
            if p.is_aligned() {
                p.write_volatile(v.to_le())
            } else {
                p.write_unaligned(v.to_le())
            }
        }
    }

    // The edge-call header in one bounds check (the run loop's hot path).
    fn read_u64x3(&self, offset: usize) -> [u64; 3] {
        assert!(offset <= self.len && self.len - offset >= 24, "read outside the mapping");
        let p = self.ptr.wrapping_add(offset) as *const u64;
        if !p.is_aligned() {
            return [0, 8, 16].map(|d| crate::SharedMem::read_u64(self, offset + d));
        }
        // SAFETY: 24 bytes in bounds (checked above) of a live mapping, and
        // 8-aligned; volatile: the enclave owns this memory too.
        unsafe {
            [
                u64::from_le(p.read_volatile()),
                u64::from_le(p.add(1).read_volatile()),
                u64::from_le(p.add(2).read_volatile()),
            ]
        }
    }

    fn write_u64x3(&mut self, offset: usize, v: [u64; 3]) {
        assert!(offset <= self.len && self.len - offset >= 24, "write outside the mapping");
        let p = self.ptr.wrapping_add(offset) as *mut u64;
        if !p.is_aligned() {
            for (i, w) in v.into_iter().enumerate() {
                crate::SharedMem::write_u64(self, offset + 8 * i, w);
            }
            return;
        }
        // SAFETY: 24 bytes in bounds (checked above) of a live mapping that
        // no Rust reference aliases, and 8-aligned.
        unsafe {
            p.write_volatile(v[0].to_le());
            p.add(1).write_volatile(v[1].to_le());
            p.add(2).write_volatile(v[2].to_le());
        }
    }

    fn read(&self, offset: usize, len: usize) -> Vec<u8> {
        Mapping::read(self, offset, len)
    }

    fn write(&mut self, offset: usize, src: &[u8]) {
        Mapping::write(self, offset, src)
    }
}

/// A mapping shared with the enclave and between this process's threads,
/// reached only through aligned atomic words (the switchless ring).
pub struct SharedWords(Mapping);

// SAFETY: every access through `&SharedWords` is an atomic operation on a
// word of the live mapping, which is sound from any number of threads.
unsafe impl Sync for SharedWords {}

impl SharedWords {
    pub fn new(mapping: Mapping) -> SharedWords {
        SharedWords(mapping)
    }

    /// The 8-byte word at `offset` (8-aligned, inside; panics otherwise).
    pub fn word(&self, offset: usize) -> &AtomicU64 {
        assert!(
            offset.is_multiple_of(8) && offset < self.0.len && self.0.len - offset >= 8,
            "word outside the mapping"
        );
        // SAFETY: inside the live mapping (checked), 8-aligned (the mapping
        // is page-aligned), and AtomicU64 has u64's layout; the borrow of
        // `self` keeps the mapping alive. Others (the enclave, other threads)
        // touch these words too, which is what atomics are for.
        unsafe { AtomicU64::from_ptr(self.0.ptr.add(offset) as *mut u64) }
    }
}

/// Pins the calling thread to CPU `cpu` (< 1024).
pub fn pin_current_thread(cpu: usize) -> io::Result<()> {
    if cpu >= 1024 {
        return Err(io::Error::from_raw_os_error(22));
    }
    let mut mask = [0u64; 16];
    mask[cpu / 64] = 1 << (cpu % 64);
    // SAFETY: `mask` is a live 1024-bit cpu_set_t whose size is given.
    let rc = unsafe { sched_setaffinity(0, std::mem::size_of_val(&mask), mask.as_ptr()) };
    check(rc)
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `new` mapped; no borrow outlives self.
        unsafe { munmap(self.ptr, self.len) };
    }
}

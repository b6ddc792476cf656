//! The enclave-app SDK: what an eapp (U-mode, no_std) calls on the
//! Eyrie-compatible runtime. Keystone's calls (`ocall`, `copy_from_shared`,
//! `attest`, `sealing_key`, `exit`), Linux ones through the runtime
//! (`print!` via write, a heap over brk, `random` via getrandom), the
//! `_start` entry and a panic handler that ends the enclave with
//! `EAPP_PANIC`.
//!
//! An eapp: `#![no_std] #![no_main]`, `keystone_enclave::entry!(main);` with
//! `fn main() -> usize`, and a build.rs passing `eapp.ld` (see `examples/`).
//!
//! Off RISC-V (`cargo test` on the build machine) it builds without the
//! eapp's entry, panic handler and heap: its unit tests exercise the logic
//! that needs no runtime (the switchless ring over memory of the test's
//! own); a system call there panics.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

#[cfg(target_arch = "riscv64")]
mod heap;
pub mod switchless;
pub mod syscall;

use keystone_abi::edge::EdgeData;
use keystone_abi::eyrie::{linux, syscall as ks};
use keystone_abi::sm::report;
pub use syscall::{syscall, Error};

/// An attestation report as the SM writes it (docs/abi.md §5.1).
pub type Report = [u8; report::REPORT];
/// A sealing key and the SM's signature over it.
pub type SealingKey = [u8; report::SEALING_KEY_STRUCT];

/// Ends the enclave; the host's run returns `code`.
pub fn exit(code: usize) -> ! {
    // SAFETY: exit names no memory and does not return.
    unsafe { syscall(ks::EXIT, [code, 0, 0, 0, 0, 0]) };
    unreachable!("the runtime does not return from exit")
}

/// Calls host function `id` with `request`; the host's answer fills the start
/// of `response` (as much as it returned, at most `response.len()`).
pub fn ocall(id: u64, request: &[u8], response: &mut [u8]) -> Result<(), Error> {
    // SAFETY: the runtime reads `request.len()` bytes of `request` and
    // writes at most `response.len()` bytes into `response`, which we borrow.
    let r = unsafe {
        syscall(
            ks::OCALL,
            [
                id as usize,
                request.as_ptr() as usize,
                request.len(),
                response.as_mut_ptr() as usize,
                response.len(),
                0,
            ],
        )
    };
    syscall::status(r)
}

/// Copies `dst.len()` bytes at UTM offset `offset` (what an ocall returned
/// as an `EdgeData`) into enclave memory.
pub fn copy_from_shared(dst: &mut [u8], offset: u64) -> Result<(), Error> {
    // SAFETY: the runtime writes at most `dst.len()` bytes into `dst`, which we borrow.
    let r = unsafe {
        syscall(ks::SHAREDCOPY, [dst.as_mut_ptr() as usize, offset as usize, dst.len(), 0, 0, 0])
    };
    syscall::status(r)
}

/// An ocall whose answer is an `EdgeData` naming bytes in the UTM; fetches them.
pub fn ocall_wrapped(id: u64, request: &[u8]) -> Result<alloc::vec::Vec<u8>, Error> {
    let mut raw = [0u8; core::mem::size_of::<EdgeData>()];
    ocall(id, request, &mut raw)?;
    let offset = u64::from_le_bytes(raw[..8].try_into().unwrap());
    let size = u64::from_le_bytes(raw[8..].try_into().unwrap());
    let mut data = alloc::vec![0u8; usize::try_from(size).map_err(|_| Error(1))?];
    copy_from_shared(&mut data, offset)?;
    Ok(data)
}

/// Asks the SM for a signed report binding `data` (≤ 1024 bytes) to this enclave.
pub fn attest(data: &[u8]) -> Result<alloc::boxed::Box<Report>, Error> {
    let mut rep = alloc::boxed::Box::new([0u8; report::REPORT]);
    // SAFETY: the runtime writes a report (REPORT bytes) into `rep` and
    // reads `data.len()` bytes of `data`, both borrowed here.
    let r = unsafe {
        syscall(
            ks::ATTEST_ENCLAVE,
            [rep.as_mut_ptr() as usize, data.as_ptr() as usize, data.len(), 0, 0, 0],
        )
    };
    syscall::status(r).map(|_| rep)
}

/// Derives this enclave's sealing key for `ident` (bound to its measurement).
pub fn sealing_key(ident: &[u8]) -> Result<SealingKey, Error> {
    let mut key = [0u8; report::SEALING_KEY_STRUCT];
    // SAFETY: the runtime writes at most `key.len()` bytes into `key` and
    // reads `ident.len()` bytes of `ident`, both borrowed here.
    let r = unsafe {
        syscall(
            ks::GET_SEALING_KEY,
            [key.as_mut_ptr() as usize, key.len(), ident.as_ptr() as usize, ident.len(), 0, 0],
        )
    };
    syscall::status(r).map(|_| key)
}

/// 64 random bits from the SM (getrandom).
pub fn random() -> u64 {
    let mut b = [0u8; 8];
    // SAFETY: the runtime writes 8 bytes into `b`.
    unsafe { syscall(linux::GETRANDOM, [b.as_mut_ptr() as usize, 8, 0, 0, 0, 0]) };
    u64::from_le_bytes(b)
}

/// Writes all of `bytes` to the host's stdout (fd 1) or stderr (fd 2).
pub fn write_all(fd: usize, mut bytes: &[u8]) -> Result<(), Error> {
    while !bytes.is_empty() {
        // SAFETY: the runtime reads `bytes.len()` bytes of `bytes`.
        let n =
            unsafe { syscall(linux::WRITE, [fd, bytes.as_ptr() as usize, bytes.len(), 0, 0, 0]) };
        if n == 0 || n as isize <= 0 || n > bytes.len() {
            return Err(Error(n));
        }
        bytes = &bytes[n..];
    }
    Ok(())
}

/// `core::fmt` sink over write(2) on a file descriptor.
pub struct Fd(pub usize);

impl core::fmt::Write for Fd {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        write_all(self.0, s.as_bytes()).map_err(|_| core::fmt::Error)
    }
}

/// Prints to the host's stdout through the runtime.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {{
        let _ = core::fmt::Write::write_fmt(&mut $crate::Fd(1), format_args!($($arg)*));
    }};
}

/// Prints a line to the host's stdout through the runtime.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => { $crate::print!("{}\n", format_args!($($arg)*)) };
}

/// Names the eapp's `fn main() -> usize`; its value is the enclave's exit value.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[unsafe(no_mangle)]
        extern "C" fn __keystone_eapp_main() -> usize {
            let f: fn() -> usize = $main;
            f()
        }
    };
}

#[cfg(target_arch = "riscv64")]
core::arch::global_asm!(
    r#"
    .section .text.entry, "ax"
    .globl _start
_start:
    mv      a0, sp
    call    __keystone_eapp_start
1:  j       1b
"#
);

#[cfg(target_arch = "riscv64")]
unsafe extern "C" {
    fn __keystone_eapp_main() -> usize;
}

#[cfg(target_arch = "riscv64")]
#[unsafe(no_mangle)]
extern "C" fn __keystone_eapp_start(_sp: usize) -> ! {
    // SAFETY: `entry!` defines __keystone_eapp_main as a safe fn() -> usize.
    let code = unsafe { __keystone_eapp_main() };
    exit(code)
}

#[cfg(target_arch = "riscv64")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let _ = core::fmt::Write::write_fmt(&mut Fd(2), format_args!("eapp panicked: {info}\n"));
    exit(keystone_abi::eyrie::exit_code::EAPP_PANIC)
}

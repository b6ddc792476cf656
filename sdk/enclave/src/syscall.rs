//! The one `ecall` of the SDK: every call to the runtime goes through it.

/// A failed call: the runtime's (or the SM's) non-zero answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error(pub usize);

/// Makes system call `n` (a7) with six arguments; returns a0.
///
/// # Safety
///
/// The runtime reads and writes the memory the arguments name, and brk,
/// mmap and munmap change the address space. The caller guarantees every
/// pointer argument names memory valid for what call `n` does with it (as
/// many bytes as the call's length argument says) that no live Rust
/// reference conflicts with, and that nothing in use is unmapped. (The
/// runtime itself only checks that the memory is the eapp's: it ends the
/// enclave on a pointer into anything else.)
#[cfg(target_arch = "riscv64")]
pub unsafe fn syscall(n: usize, a: [usize; 6]) -> usize {
    let ret;
    // SAFETY: the ecall clobbers only a0; the memory it makes the runtime
    // touch is the caller's to vouch for (see # Safety).
    unsafe {
        core::arch::asm!("ecall",
            inlateout("a0") a[0] => ret, in("a1") a[1], in("a2") a[2], in("a3") a[3],
            in("a4") a[4], in("a5") a[5], in("a7") n);
    }
    ret
}

/// Off RISC-V (the SDK's unit tests on the build machine) there is no
/// runtime to call: a system call is a bug in the test.
///
/// # Safety
///
/// None needed: it only panics.
#[cfg(not(target_arch = "riscv64"))]
pub unsafe fn syscall(n: usize, _: [usize; 6]) -> usize {
    panic!("system call {n}: no Eyrie runtime off RISC-V")
}

/// 0 is success for Keystone's calls.
pub fn status(r: usize) -> Result<(), Error> {
    if r == 0 {
        Ok(())
    } else {
        Err(Error(r))
    }
}

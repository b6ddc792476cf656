//! The one `ecall` of the SDK: every call to the runtime goes through it.

/// A failed call: the runtime's (or the SM's) non-zero answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error(pub usize);

/// Makes system call `n` (a7) with six arguments; returns a0.
pub fn syscall(n: usize, a: [usize; 6]) -> usize {
    let ret;
    // SAFETY: the runtime only writes a0 and the memory the arguments name,
    // which it checks belongs to the eapp (or ends the enclave).
    unsafe {
        core::arch::asm!("ecall",
            inlateout("a0") a[0] => ret, in("a1") a[1], in("a2") a[2], in("a3") a[3],
            in("a4") a[4], in("a5") a[5], in("a7") n);
    }
    ret
}

/// 0 is success for Keystone's calls.
pub fn status(r: usize) -> Result<(), Error> {
    if r == 0 {
        Ok(())
    } else {
        Err(Error(r))
    }
}

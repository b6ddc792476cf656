//! The Eyrie-compatible runtime's interfaces (docs/abi.md §7-8): eapp
//! system-call numbers, the runtime's virtual-memory layout, and the exit
//! codes with which the runtime ends an enclave whose eapp misbehaved.

/// Eapp -> runtime calls (`ecall` from U-mode, number in a7).
pub mod syscall {
    /// ocall(id, data, len, ret_buf, ret_len) -> 0 or 1 (error).
    pub const OCALL: usize = 1001;
    /// copy_from_shared(dst, offset, len) -> 0 or 1 (offset/len outside the UTM).
    pub const SHAREDCOPY: usize = 1002;
    /// attest_enclave(report, data, size) -> SM error code.
    pub const ATTEST_ENCLAVE: usize = 1003;
    /// get_sealing_key(key_struct, struct_size, ident, ident_len) -> SM error code.
    pub const GET_SEALING_KEY: usize = 1004;
    /// Ours: map_ring(len) -> the user address of the last `len` bytes of
    /// the UTM (len = [`crate::switchless::RING_BYTES`]), mapped read-write
    /// into the eapp; or -EINVAL (bad length, UTM too small) / -EEXIST
    /// (mapped already). The runtime's own edge calls then use only the UTM
    /// before it. See [`crate::switchless`].
    pub const MAP_RING: usize = 1010;
    /// exit(value): ends the enclave, the host's RUN returns the value.
    pub const EXIT: usize = 1101;
    /// Always unknown (`RUNTIME_SYSCALL_UNKNOWN`).
    pub const UNKNOWN: usize = 1000;
}

/// The Linux (riscv64 generic) system calls the runtime answers.
pub mod linux {
    pub const FCNTL: usize = 25;
    pub const UNLINKAT: usize = 35;
    pub const RENAMEAT: usize = 38;
    pub const FTRUNCATE: usize = 46;
    pub const GETDENTS64: usize = 61;
    pub const IOCTL: usize = 29;
    pub const OPENAT: usize = 56;
    pub const CLOSE: usize = 57;
    pub const LSEEK: usize = 62;
    pub const READ: usize = 63;
    pub const WRITE: usize = 64;
    pub const READV: usize = 65;
    pub const WRITEV: usize = 66;
    pub const PREAD64: usize = 67;
    pub const PWRITE64: usize = 68;
    pub const PPOLL: usize = 73;
    pub const NEWFSTATAT: usize = 79;
    pub const FSTAT: usize = 80;
    pub const EXIT: usize = 93;
    pub const EXIT_GROUP: usize = 94;
    pub const SET_TID_ADDRESS: usize = 96;
    pub const CLOCK_GETTIME: usize = 113;
    pub const RT_SIGACTION: usize = 134;
    pub const RT_SIGPROCMASK: usize = 135;
    pub const GETPID: usize = 172;
    pub const BRK: usize = 214;
    pub const MUNMAP: usize = 215;
    pub const MMAP: usize = 222;
    pub const MPROTECT: usize = 226;
    pub const RENAMEAT2: usize = 276;
    pub const GETRANDOM: usize = 278;
    /// errno values returned negated.
    pub const ENOENT: isize = 2;
    pub const EIO: isize = 5;
    pub const EBADF: isize = 9;
    pub const ENOMEM: isize = 12;
    pub const EACCES: isize = 13;
    pub const EFAULT: isize = 14;
    pub const EBUSY: isize = 16;
    pub const EEXIST: isize = 17;
    pub const EINVAL: isize = 22;
    pub const EMFILE: isize = 24;
    pub const ENOTTY: isize = 25;
    pub const ENAMETOOLONG: isize = 36;
    pub const ENOSYS: isize = 38;
    pub const ENOTDIR: isize = 20;
    pub const EBADMSG: isize = 74;
    /// The largest errno: a result in `-MAX_ERRNO..0` is an error.
    pub const MAX_ERRNO: isize = 4095;
    /// openat's flags (the access mode is the low two bits).
    pub const O_ACCMODE: usize = 3;
    pub const O_RDONLY: usize = 0;
    pub const O_WRONLY: usize = 1;
    pub const O_RDWR: usize = 2;
    pub const O_CREAT: usize = 0o100;
    pub const O_EXCL: usize = 0o200;
    pub const O_TRUNC: usize = 0o1000;
    pub const O_APPEND: usize = 0o2000;
    pub const O_CLOEXEC: usize = 0o2000000;
    /// openat's and fstatat's "the current directory" and "the fd itself".
    pub const AT_FDCWD: isize = -100;
    pub const AT_EMPTY_PATH: usize = 0x1000;
    pub const AT_SYMLINK_NOFOLLOW: usize = 0x100;
    pub const AT_REMOVEDIR: usize = 0x200;
    /// fcntl's commands and FD_CLOEXEC.
    pub const F_DUPFD: usize = 0;
    pub const F_GETFD: usize = 1;
    pub const F_SETFD: usize = 2;
    pub const F_GETFL: usize = 3;
    pub const F_SETFL: usize = 4;
    pub const F_DUPFD_CLOEXEC: usize = 1030;
    pub const FD_CLOEXEC: usize = 1;
    pub const O_DIRECTORY: usize = 0o200000;
    /// lseek's whence values.
    pub const SEEK_SET: usize = 0;
    pub const SEEK_CUR: usize = 1;
    pub const SEEK_END: usize = 2;
    /// `struct stat` (asm-generic, riscv64) in bytes.
    pub const STAT_SIZE: usize = 128;
    /// The longest path an openat may name (PATH_MAX, with its NUL).
    pub const PATH_MAX: usize = 4096;
    /// The most iovecs one readv/writev takes (IOV_MAX).
    pub const IOV_MAX: usize = 1024;
    /// mmap flags and protections.
    pub const PROT_READ: usize = 1;
    pub const PROT_WRITE: usize = 2;
    pub const PROT_EXEC: usize = 4;
    pub const MAP_PRIVATE: usize = 0x02;
    pub const MAP_FIXED: usize = 0x10;
    pub const MAP_ANONYMOUS: usize = 0x20;
    /// auxv keys.
    pub const AT_NULL: usize = 0;
    pub const AT_PAGESZ: usize = 6;
    pub const AT_RANDOM: usize = 25;
}

/// Virtual-memory layout (Eyrie's `vm_defs.h`).
pub mod vm {
    /// The runtime's link address (`RUNTIME_VA_START`).
    pub const RUNTIME_VA: usize = 0xffff_ffff_c000_0000;
    /// All of EPM is mapped here: va = pa - dram_base + EPM_WINDOW
    /// (`EYRIE_LOAD_START`). The loader is linked here, since it sits at the EPM base.
    pub const EPM_WINDOW: usize = 0xffff_ffff_0000_0000;
    /// Largest EPM the window holds (up to the UTM mapping).
    pub const EPM_WINDOW_MAX: usize = UTM_VA - EPM_WINDOW;
    /// The UTM is mapped here, read-write (`EYRIE_UNTRUSTED_START`).
    pub const UTM_VA: usize = 0xffff_ffff_8000_0000;
    /// Eapp addresses lie below this (Sv39 lower half).
    pub const USER_TOP: usize = 0x40_0000_0000;
    /// The user stack ends here (`EYRIE_USER_STACK_START`) ...
    pub const USER_STACK_TOP: usize = 0x4000_0000;
    /// ... and is this big (`EYRIE_USER_STACK_SIZE`, 128 KiB).
    pub const USER_STACK_SIZE: usize = 128 * 1024;
    /// The switchless ring is mapped here for the eapp (between the stack
    /// and the mmap area, so neither brk, mmap nor munmap reach it).
    pub const RING_VA: usize = 0x10_0000_0000;
    /// Anonymous mmap hands out addresses from here up.
    pub const MMAP_BASE: usize = 0x20_0000_0000;
    /// Highest address brk may reach (the heap starts after the eapp's ELF).
    pub const BRK_MAX: usize = USER_STACK_TOP - USER_STACK_SIZE - PAGE_SIZE;
    pub const PAGE_SIZE: usize = 4096;
    /// Kernel stack of the runtime (8 pages, as Eyrie).
    pub const KERNEL_STACK_SIZE: usize = 8 * PAGE_SIZE;
    const _: () = assert!(USER_STACK_TOP < MMAP_BASE && MMAP_BASE < USER_TOP);
    const _: () = assert!(USER_STACK_TOP <= RING_VA && RING_VA + (1 << 30) <= MMAP_BASE);
}

/// Exit values with which the runtime ends an enclave itself (a1 of the
/// host's RUN/RESUME result). Chosen far from small eapp return values.
pub mod exit_code {
    /// The eapp took exception `scause` (page fault, illegal instruction,
    /// misaligned access, ...): the value is `FAULT_BASE + scause`.
    pub const FAULT_BASE: usize = 0xFA17_0000;
    /// A system call named user memory that is not the eapp's (unmapped,
    /// kernel, or not writable where the call writes).
    pub const BAD_POINTER: usize = 0xFA17_0100;
    /// The runtime could not load the eapp (malformed ELF, bad addresses).
    pub const BAD_ELF: usize = 0xFA17_0101;
    /// The runtime ran out of free memory while loading the eapp.
    pub const OUT_OF_MEMORY: usize = 0xFA17_0102;
    /// The arguments the host placed in the UTM break their bounds
    /// (`keystone_abi::edge::ArgsHeader`).
    pub const BAD_ARGS: usize = 0xFA17_0103;
    /// The runtime itself trapped (a runtime bug): value `RUNTIME_FAULT + scause`;
    /// a runtime or loader panic is `RUNTIME_FAULT + 0xff`.
    pub const RUNTIME_FAULT: usize = 0xFA17_0200;
    /// The eapp panicked (sdk/enclave's panic handler).
    pub const EAPP_PANIC: usize = 0xFA17_0300;

    /// The exit value for an eapp exception with this `scause`.
    pub const fn fault(scause: usize) -> usize {
        FAULT_BASE + (scause & 0xff)
    }
}

/// scause values the runtime tells apart.
pub mod cause {
    pub const ILLEGAL_INSTRUCTION: usize = 2;
    pub const USER_ECALL: usize = 8;
    pub const INSTRUCTION_PAGE_FAULT: usize = 12;
    pub const LOAD_PAGE_FAULT: usize = 13;
    pub const STORE_PAGE_FAULT: usize = 15;
}

/// `time` CSR ticks per second on QEMU virt (its device tree's timebase).
pub const TIMEBASE_HZ: u64 = 10_000_000;

/// An Eyrie-like time slice, on the host's request (a test mode of our
/// runtime): before the first RUN the host writes, at the start of the UTM,
/// `SLICE_MAGIC` then the slice in timer ticks (u64 LE, at most
/// `SLICE_MAX`). The runtime then does what Eyrie does: it asks the SM with
/// the legacy SBI `set_timer(time + slice)` to be stopped, on every return
/// to the eapp. The runtime clears the request once read.
pub mod slice {
    pub const MAGIC: [u8; 8] = *b"EYRSLICE";
    /// Offset of the slice (u64 LE) in the UTM.
    pub const VALUE_OFFSET: usize = 8;
    /// Bytes the request takes (cleared by the runtime).
    pub const SIZE: usize = 16;
    /// Longest slice taken: 10 s at QEMU's 10 MHz timebase.
    pub const MAX: u64 = 100_000_000;
}

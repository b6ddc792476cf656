//! The edge-call ABI between an enclave and its host (docs/abi.md §7):
//! `struct edge_call` at the start of the UTM, offsets (never pointers)
//! relative to the UTM start, status codes and the call ids.

/// `struct edge_call_retdata`: what the host answers.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EdgeReturn {
    pub call_status: u64,
    pub call_ret_offset: u64,
    pub call_ret_size: u64,
}

/// `struct edge_call`: the header at UTM offset 0.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EdgeCall {
    pub call_id: u64,
    pub call_arg_offset: u64,
    pub call_arg_size: u64,
    pub return_data: EdgeReturn,
}

/// `struct edge_data`: an (offset, size) pair naming bytes in the UTM.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EdgeData {
    pub offset: u64,
    pub size: u64,
}

/// Size of `struct edge_call`; the data area starts right after it.
pub const EDGE_CALL_SIZE: usize = core::mem::size_of::<EdgeCall>();
/// Offset of the data area (`edge_call_data_ptr()`) in the UTM.
pub const DATA_OFFSET: usize = EDGE_CALL_SIZE;

const _: () = assert!(EDGE_CALL_SIZE == 48);
const _: () = assert!(core::mem::offset_of!(EdgeCall, call_arg_offset) == 8);
const _: () = assert!(core::mem::offset_of!(EdgeCall, call_arg_size) == 16);
const _: () = assert!(core::mem::offset_of!(EdgeCall, return_data) == 24);
const _: () = assert!(core::mem::offset_of!(EdgeReturn, call_ret_offset) == 8);
const _: () = assert!(core::mem::offset_of!(EdgeReturn, call_ret_size) == 16);
const _: () = assert!(core::mem::size_of::<EdgeData>() == 16);

/// `call_status` values.
pub mod status {
    named! {
        pub const OK: u64 = 0;
        pub const BAD_CALL_ID: u64 = 1;
        pub const BAD_OFFSET: u64 = 2;
        pub const BAD_PTR: u64 = 3;
        pub const ERROR: u64 = 4;
        pub const SYSCALL_FAILED: u64 = 5;
    }
}

/// Size of the host SDK's ocall table (`MAX_EDGE_CALL`): ids 0..10.
pub const MAX_EDGE_CALL: u64 = 10;
/// Call id of a proxied Linux system call (`EDGECALL_SYSCALL`).
pub const EDGECALL_SYSCALL: u64 = 11;

/// Call id of a proxied file system call (ours; docs/runtime.md, "Files"):
/// the data area holds a [`FileCall`], then the call's bytes (the path of
/// an openat, the bytes of a write); the host answers a [`FileReply`]
/// header, then the call's bytes (what a read read, a `struct stat`).
pub const EDGECALL_FILE: u64 = 12;

/// The request of an [`EDGECALL_FILE`] call: a Linux syscall number and up
/// to four arguments, their meaning by call (see [`file`]).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileCall {
    pub num: u64,
    pub args: [u64; 4],
}

/// The answer's header: the syscall's result (`-errno` on failure).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileReply {
    pub result: i64,
}

/// Set in an `OPENAT` answer's handle when the host serves the file sealed:
/// the runtime then reads and writes it through its sealed format
/// (docs/runtime.md, "Sealed files"); the host's handle is the whole value.
pub const FILE_SEALED: u64 = 1 << 62;

/// Offset of a file call's bytes from the start of the request.
pub const FILE_CALL_SIZE: usize = core::mem::size_of::<FileCall>();
/// Offset of the answer's bytes from the start of the reply.
pub const FILE_REPLY_SIZE: usize = core::mem::size_of::<FileReply>();

const _: () = assert!(FILE_CALL_SIZE == 40);
const _: () = assert!(FILE_REPLY_SIZE == 8);

/// The arguments of each [`EDGECALL_FILE`] call, by syscall number. A
/// `handle` is the host's name for an open file (the runtime keeps the
/// eapp's descriptors itself and never shows it the host's).
///
/// - `OPENAT`: `[flags, mode, 0, 0]`, bytes = the path (no NUL);
///   result: a handle (>= 0).
/// - `CLOSE`: `[handle, 0, 0, 0]`.
/// - `READ`: `[handle, count, offset, positioned]` (positioned = 1 for
///   pread64); result: bytes read (<= count), answered after the header.
/// - `WRITE`: `[handle, count, offset, positioned]`, bytes = the data;
///   result: bytes written (<= count).
/// - `LSEEK`: `[handle, offset, whence, 0]`; result: the new offset.
/// - `FSTAT`: `[handle, 0, 0, 0]`; answered: a `struct stat` (STAT_SIZE).
/// - `NEWFSTATAT`: `[flags, 0, 0, 0]`, bytes = the path; answered: a
///   `struct stat` (flags: AT_SYMLINK_NOFOLLOW).
/// - `UNLINKAT`: `[flags, 0, 0, 0]`, bytes = the path (flags: AT_REMOVEDIR).
/// - `RENAMEAT2`: `[old_len, flags, 0, 0]`, bytes = the old path then the
///   new one.
/// - `FTRUNCATE`: `[handle, length, 0, 0]`.
/// - `GETDENTS64`: `[handle, count, 0, 0]`; answered: `linux_dirent64`
///   records (<= count bytes), result = their length, 0 at the end.
/// - `FCNTL`: `[handle, cmd, arg, 0]` for F_GETFL/F_SETFL; F_DUPFD(_CLOEXEC)
///   asks for a new handle to the same open file (result: the handle).
pub mod file {}

/// The eapp's arguments and environment, which the host may place at the
/// UTM's data area before the first run (ours): an [`ArgsHeader`] with
/// [`ARGS_MAGIC`], then `len` bytes: `argc` then `envc` NUL-terminated
/// strings. The runtime copies them to the eapp's initial stack (argv,
/// envp) and clears the magic; without it the eapp gets `argv = {"eapp"}`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArgsHeader {
    pub magic: u64,
    pub argc: u64,
    pub envc: u64,
    pub len: u64,
}

/// `ArgsHeader::magic`: "KSARGV01" little-endian.
pub const ARGS_MAGIC: u64 = u64::from_le_bytes(*b"KSARGV01");
/// The most bytes of strings an [`ArgsHeader`] may announce.
pub const ARGS_MAX_BYTES: usize = 4096;
/// The most strings (argc + envc).
pub const ARGS_MAX_STRINGS: usize = 256;
/// Size of [`ArgsHeader`]; the strings follow it.
pub const ARGS_HEADER_SIZE: usize = core::mem::size_of::<ArgsHeader>();

const _: () = assert!(ARGS_HEADER_SIZE == 32);

/// `struct edge_syscall` header: the syscall number, then its arguments.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EdgeSyscall {
    pub syscall_num: u64,
}

/// Offset of `edge_syscall.data` from the start of the `edge_syscall`.
pub const SYSCALL_DATA_OFFSET: usize = core::mem::size_of::<EdgeSyscall>();

/// `sargs_SYS_write` header: fd (int, padded), len, then `len` bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyscallWrite {
    pub fd: i32,
    pub _pad: u32,
    pub len: u64,
}

/// Offset of `sargs_SYS_write.buf` from the start of the arguments.
pub const WRITE_BUF_OFFSET: usize = core::mem::size_of::<SyscallWrite>();

const _: () = assert!(SYSCALL_DATA_OFFSET == 8);
const _: () = assert!(WRITE_BUF_OFFSET == 16);
const _: () = assert!(core::mem::offset_of!(SyscallWrite, len) == 8);

/// Ocall ids of Keystone's `examples/tests` (the untrusted and attestation tests).
pub mod test_ocall {
    pub const PRINT_BUFFER: u64 = 1;
    pub const PRINT_VALUE: u64 = 2;
    pub const COPY_REPORT: u64 = 3;
    pub const GET_STRING: u64 = 4;
    /// Ours: the test host answers OK with a return range outside the UTM
    /// (an untrusted host lying); the runtime must fail the ocall.
    pub const BAD_REPLY: u64 = 5;
    /// Ours: does nothing and answers OK (the ocall-bench eapp's round trip).
    pub const NOP: u64 = 6;
    /// Ours: the attestor's host answers with the 32-byte nonce it chose.
    pub const GET_NONCE: u64 = 7;
    /// Ours: the ocall-seq eapp sends a sequence number (u64 LE); the host
    /// answers seq + 1, or [`SEQ_STOP`] to end the run.
    pub const SEQ: u64 = 8;
    /// The host's answer to [`SEQ`] that ends the ocall-seq run.
    pub const SEQ_STOP: u64 = u64::MAX;
}

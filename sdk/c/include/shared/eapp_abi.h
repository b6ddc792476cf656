/*
 * The numbers the C eapp SDK shares with the runtime, the host and the SM,
 * under Keystone's names (Keystone's eapp code compiles unchanged). The SDK's
 * headers (shared/eyrie_call.h, edge/edge_common.h, app/sealing.h) include
 * this file and define no number of their own.
 *
 * Generated from the Rust crate sdk/abi, the one source of these numbers and
 * layouts, by sdk/abi/examples/dump_abi.rs: do not edit, regenerate with
 *   cargo run -q -p keystone-abi --example dump_abi -- --write
 * (tests/tools/test_abi.py fails when this file is stale, and compiles it to
 * check every value against the crate).
 */
#ifndef KEYSTONE_RS_SHARED_EAPP_ABI_H
#define KEYSTONE_RS_SHARED_EAPP_ABI_H

/* Eyrie-compatible runtime calls an eapp makes with `ecall` (a7 = number). */
#define SYSCALL_OCALL 1001
#define SYSCALL_SHAREDCOPY 1002
#define SYSCALL_ATTEST_ENCLAVE 1003
#define SYSCALL_GET_SEALING_KEY 1004
#define SYSCALL_EXIT 1101

/* Linux system calls the runtime serves itself or proxies to the host. */
#define SYSCALL_WRITE 64
#define SYSCALL_BRK 214
#define SYSCALL_MUNMAP 215
#define SYSCALL_MMAP 222
#define SYSCALL_GETRANDOM 278

/* Edge calls: the size of the host's ocall table (ids below it) and the
 * statuses a callee answers with (call_status). */
#define MAX_EDGE_CALL 10
#define CALL_STATUS_OK 0
#define CALL_STATUS_BAD_CALL_ID 1
#define CALL_STATUS_BAD_OFFSET 2
#define CALL_STATUS_BAD_PTR 3
#define CALL_STATUS_ERROR 4
#define CALL_STATUS_SYSCALL_FAILED 5

/* The sealing key get_sealing_key() returns (struct sealing_key): key
 * bytes, then the SM's Ed25519 signature over them. */
#define SEALING_KEY_SIZE 128
#define SIGNATURE_SIZE 64

#endif /* KEYSTONE_RS_SHARED_EAPP_ABI_H */

/* Eyrie-compatible runtime calls an eapp makes with `ecall` (a7 = number).
 * The numbers are Keystone's; keystone-rs defines them once in
 * sdk/abi/src/eyrie.rs (tests/tools/test_byo_errors.py checks these against it). */
#ifndef KEYSTONE_RS_SHARED_EYRIE_CALL_H
#define KEYSTONE_RS_SHARED_EYRIE_CALL_H

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

#endif

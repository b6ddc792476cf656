/*
 * The numbers the C++ host SDK and verifier (sdk/cpp) share with the SM, the
 * runtime and the Rust host SDK, under Keystone's names. The SDK's headers
 * (common/sha3.h, verifier/report.h) and edge_dispatch.c include this file
 * and define no number of their own.
 *
 * Generated from the Rust crate sdk/abi, the one source of these numbers and
 * layouts, by sdk/abi/examples/dump_abi.rs: do not edit, regenerate with
 *   cargo run -q -p keystone-abi --example dump_abi -- --write
 * (tests/tools/test_abi.py fails when this file is stale, and compiles it to
 * check every value against the crate).
 */
#ifndef KEYSTONE_RS_COMMON_CPP_ABI_H
#define KEYSTONE_RS_COMMON_CPP_ABI_H

/* An attestation report's parts (report_t, docs/abi.md §5.1). */
#define MDSIZE 64
#define ATTEST_DATA_MAXLEN 1024
#define SIGNATURE_SIZE 64
#define PUBLIC_KEY_SIZE 32

/* The runtime's proxied Linux system calls: their edge-call id, where the
 * arguments start in the call's data (after the syscall number), and
 * write(2)'s number and where its bytes start in its arguments. */
#define EDGECALL_SYSCALL 11
#define EDGE_SYSCALL_ARGS 8
#define EDGE_SYS_WRITE 64
#define EDGE_SYSCALL_WRITE_BUF 16

#endif /* KEYSTONE_RS_COMMON_CPP_ABI_H */

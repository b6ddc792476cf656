/* SPDX-License-Identifier: Apache-2.0 OR GPL-2.0 */
/*
 * The security monitor's ABI for C code (the Linux driver, C host apps):
 * Keystone's SBI extension, error codes, enclave states, the CREATE argument
 * block and the attestation layouts.
 *
 * Generated from the Rust crate sdk/abi, the one source of these numbers and
 * layouts, by sdk/abi/examples/dump_abi.rs: do not edit, regenerate with
 *   cargo run -q -p keystone-abi --example dump_abi -- --write
 * (tests/tools/test_abi.py fails when this file is stale, and compiles it to
 * check every value against the crate).
 */
#ifndef KEYSTONE_SM_H
#define KEYSTONE_SM_H

#if defined(__KERNEL__) || defined(__linux__)
#include <linux/types.h>	/* __u64, also for keystone_user.h */
#else
#include <stdint.h>
typedef uint64_t __u64;
#endif

/* The SBI extension, the enclave slots and the physical layout. */
#define KEYSTONE_EID 0x8424b45UL
#define SBI_IMPL_ID 0x4b53UL
#define ENCLAVES_MAX 16
#define SM_BASE 0x80000000UL
#define SM_SIZE 0x200000UL
#define PAYLOAD_BASE 0x80200000UL
#define DEVICE_SECRET_ADDR 0x801ff000UL

/* Bytes from SM_BASE the SM hash covers (Keystone's sanctum_sm_size): the
 * image, zero-padded to this size. */
#define SM_HASH_SIZE 0x1ff000UL

/* Function ids (a6). 2000-2999: host only; 3000-3999: enclave only. */
#define FID_CREATE_ENCLAVE 2001
#define FID_DESTROY_ENCLAVE 2002
#define FID_RUN_ENCLAVE 2003
#define FID_RESUME_ENCLAVE 2005
#define FID_RANDOM 3001
#define FID_ATTEST_ENCLAVE 3002
#define FID_GET_SEALING_KEY 3003
#define FID_STOP_ENCLAVE 3004
#define FID_EXIT_ENCLAVE 3006
#define FID_CALL_PLUGIN 4000

/* STOP_ENCLAVE reasons (a0). */
#define STOP_TIMER_INTERRUPT 0
#define STOP_EDGE_CALL_HOST 1
#define STOP_EXIT_ENCLAVE 2

/* Enclave states. */
#define STATE_INVALID (-1)
#define STATE_DESTROYING 0
#define STATE_ALLOCATED 1
#define STATE_FRESH 2
#define STATE_STOPPED 3
#define STATE_RUNNING 4

/* keystone_sbi_create_t: passed by virtual address to FID_CREATE_ENCLAVE. */
struct keystone_sbi_create {
	__u64 epm_paddr;
	__u64 epm_size;
	__u64 utm_paddr;
	__u64 utm_size;
	__u64 runtime_paddr;
	__u64 user_paddr;
	__u64 free_paddr;
	__u64 free_requested;
};

/* runtime_params_t: how the SM describes the enclave's memory to it. */
struct keystone_runtime_params {
	__u64 dram_base;
	__u64 dram_size;
	__u64 runtime_base;
	__u64 user_base;
	__u64 free_base;
	__u64 untrusted_base;
	__u64 untrusted_size;
	__u64 free_requested;
};

/* Attestation report and sealing key layouts (bytes). */
#define REPORT_SIZE 1352
#define ENCLAVE_REPORT_SIZE 1160
#define SM_REPORT_SIZE 160
#define ATTEST_DATA_MAX 1024
#define SEALING_KEY_SIZE 128
#define SEALING_KEY_STRUCT_SIZE 192
#define SEALING_IDENT_MAX 4096

/* The edge-call header at the start of the UTM (offsets, never pointers). */
struct edge_call_retdata {
	__u64 call_status;
	__u64 call_ret_offset;
	__u64 call_ret_size;
};

struct edge_call {
	__u64 call_id;
	__u64 call_arg_offset;
	__u64 call_arg_size;
	struct edge_call_retdata return_data;
};

/* Edge-call statuses (call_status), the proxied-syscall, file and socket call ids, the argv block the host may place in the UTM. */
#define EDGE_STATUS_OK 0
#define EDGE_STATUS_BAD_CALL_ID 1
#define EDGE_STATUS_BAD_OFFSET 2
#define EDGE_STATUS_BAD_PTR 3
#define EDGE_STATUS_ERROR 4
#define EDGE_STATUS_SYSCALL_FAILED 5
#define EDGECALL_SYSCALL 11
#define EDGECALL_FILE 12
#define FILE_CALL_SIZE 40
#define FILE_REPLY_SIZE 8
#define EDGECALL_SOCKET 13
#define SOCKADDR_MAX 128
#define SOCKET_ADDR_BLOCK 136
#define ARGS_MAGIC 0x313056475241534bUL
#define ARGS_HEADER_SIZE 32
#define ARGS_MAX_BYTES 4096
#define ARGS_MAX_STRINGS 256

/* Eyrie system calls an eapp makes (a7). */
#define EYRIE_OCALL 1001
#define EYRIE_SHAREDCOPY 1002
#define EYRIE_ATTEST_ENCLAVE 1003
#define EYRIE_GET_SEALING_KEY 1004
#define EYRIE_EXIT 1101

/* Error codes (positive, in a0). */
#define ERR_SUCCESS 0
#define ERR_UNKNOWN_ERROR 100000
#define ERR_INVALID_ID 100001
#define ERR_INTERRUPTED 100002
#define ERR_PMP_FAILURE 100003
#define ERR_NOT_RUNNABLE 100004
#define ERR_NOT_DESTROYABLE 100005
#define ERR_REGION_OVERLAPS 100006
#define ERR_NOT_ACCESSIBLE 100007
#define ERR_ILLEGAL_ARGUMENT 100008
#define ERR_NOT_RUNNING 100009
#define ERR_NOT_RESUMABLE 100010
#define ERR_EDGE_CALL_HOST 100011
#define ERR_NOT_INITIALIZED 100012
#define ERR_NO_FREE_RESOURCE 100013
#define ERR_SBI_PROHIBITED 100014
#define ERR_ILLEGAL_PTE 100015
#define ERR_NOT_FRESH 100016
#define ERR_DEPRECATED 100099
#define ERR_NOT_IMPLEMENTED 100100
#define ERR_PMP_REGION_SIZE_INVALID 100020
#define ERR_PMP_REGION_NOT_PAGE_GRANULARITY 100021
#define ERR_PMP_REGION_NOT_ALIGNED 100022
#define ERR_PMP_REGION_MAX_REACHED 100023
#define ERR_PMP_REGION_INVALID 100024
#define ERR_PMP_REGION_OVERLAP 100025
#define ERR_PMP_REGION_IMPOSSIBLE_TOR 100026

#endif /* KEYSTONE_SM_H */
